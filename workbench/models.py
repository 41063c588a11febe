"""Encoders: images (B, 3, H, W) in [0, 1] → features (B, D).

`small_cnn` trains at thousands of images per second on two CPU cores; `resnet18` is the standard backbone of
SSL papers on 32×32 images, with the CIFAR stem (3×3 stride-1 first convolution, no max-pool): with the
ImageNet stem a 32-pixel image is 8×8 after two layers and SimCLR stalls well below its published accuracy.
"""

import torch
from torch import nn
from torchvision.models import resnet18

ENCODERS = {
    "small_cnn": "Small CNN (4 conv blocks, 192-d) — fast on a CPU",
    "resnet18": "ResNet-18 with CIFAR stem (512-d) — the papers' backbone; use a GPU",
}


def _conv_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Four conv blocks, each halving the resolution except the first, then global average pooling."""

    def __init__(self, width=24):
        super().__init__()
        self.features = nn.Sequential(
            _conv_block(3, width), nn.MaxPool2d(2),              # (B, w, H/2, W/2)
            _conv_block(width, 2 * width), nn.MaxPool2d(2),      # (B, 2w, H/4, W/4)
            _conv_block(2 * width, 4 * width), nn.MaxPool2d(2),  # (B, 4w, H/8, W/8)
            _conv_block(4 * width, 8 * width),                    # (B, 8w, H/8, W/8)
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),                # (B, 8w)
        )
        self.feature_dim = 8 * width

    def forward(self, x):
        return self.features(x)


class CifarResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        net = resnet18(weights=None)
        net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        self.net = net
        self.feature_dim = 512

    def forward(self, x):
        return self.net(x)


def create_encoder(name: str, seed: int | None = None) -> nn.Module:
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    if seed is not None:
        torch.manual_seed(seed)
    return SmallCNN() if name == "small_cnn" else CifarResNet18()


def default_encoder(device: torch.device) -> str:
    return "resnet18" if device.type == "cuda" else "small_cnn"
