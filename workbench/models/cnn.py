"""Convolutional encoders.

SmallCNN trains at thousands of images per second on two CPU cores. CifarResNet18 is ResNet-18 with the CIFAR
stem (3×3 stride-1 first convolution, no max-pool): with the ImageNet stem a 32-pixel image is 8×8 after two
layers and SimCLR stalls well below its published accuracy.
"""

from torch import nn
from torchvision.models import resnet18


def _conv_bn(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))


def _pool_relu():
    # Max-pooling then ReLU is the same function as ReLU then max-pooling (both are monotone), on a quarter of
    # the pixels: ~4 % faster training steps on a CPU, where these element-wise passes cost as much as convolutions.
    return nn.Sequential(nn.MaxPool2d(2), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Four conv blocks (convolution, batch norm, ReLU), each halving the resolution except the last, then
    global average pooling."""

    def __init__(self, width=24):
        super().__init__()
        self.trunk = nn.Sequential(
            _conv_bn(3, width), _pool_relu(),                  # (B, w, H/2, W/2)
            _conv_bn(width, 2 * width), _pool_relu(),          # (B, 2w, H/4, W/4)
            _conv_bn(2 * width, 4 * width), _pool_relu(),      # (B, 4w, H/8, W/8)
            _conv_bn(4 * width, 8 * width), nn.ReLU(inplace=True),  # (B, 8w, H/8, W/8)
        )
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature_dim = 8 * width

    def feature_map(self, x):
        return self.trunk(x)  # (B, D, H/8, W/8)

    def block_maps(self, x):
        """The map after each block, from (B, w, H/2, W/2) to (B, 8w, H/8, W/8): what DCGAN's read-out pools."""
        maps = []
        for convolution, activation in zip(self.trunk[0::2], self.trunk[1::2]):
            x = activation(convolution(x))
            maps.append(x)
        return maps

    def forward(self, x):
        return self.pool(self.trunk(x))  # (B, D)


class CifarResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        net = resnet18(weights=None)
        net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        self.net = net
        self.feature_dim = 512

    def block_maps(self, x):
        """The map after each of the four stages, from (B, 64, H, W) to (B, 512, H/8, W/8)."""
        n = self.net
        x = n.relu(n.bn1(n.conv1(x)))
        maps = []
        for stage in (n.layer1, n.layer2, n.layer3, n.layer4):
            x = stage(x)
            maps.append(x)
        return maps

    def feature_map(self, x):
        return self.block_maps(x)[-1]  # (B, 512, H/8, W/8)

    def forward(self, x):
        return self.feature_map(x).mean(dim=(2, 3))
