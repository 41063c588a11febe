"""Speed of a SimCLR / rotation training step, ours against the plain PyTorch way, measured side by side.

"Ours": the engine's path — uint8 batch on the device, batched augmentation with per-sample parameters
(workbench.augment), the task's training_step, AdamW.
"Plain": what a PyTorch tutorial does — torchvision.transforms (v2) applied image by image, then the same
network, loss and optimiser.

    python benchmarks/train_step.py [--steps 20] [--batch-size 64] [--device cpu]

Prints images/s for each and their ratio. Both run in this one process, one after the other, on the same data;
the figures also go to benchmarks/results/train_step-shapes-MACHINE-float32.csv (no autocast here).
"""

import argparse
import time

import torch
from torchvision.transforms import v2

from csv_results import measured_by, results_path, save_rows
from workbench.data.shapes import generate_shapes
from workbench.models import create_encoder
from workbench.tasks import Progress, create_task


def plain_simclr_transform(p):
    s = p.color_jitter
    return v2.Compose([
        v2.RandomResizedCrop(32, scale=(p.crop_min_scale, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=p.jitter_probability),
        v2.RandomGrayscale(p=p.grayscale_probability),
    ])


def timed(step, steps, batch_size, sync):
    step(0)  # warm-up
    sync()
    start = time.perf_counter()
    for i in range(steps):
        step(i + 1)
    sync()
    return steps * batch_size / (time.perf_counter() - start)


def compare(name: str, args, images, device, sync) -> dict:
    """Ours against the plain way for one task, printed; returns the CSV row."""
    b, on_device = args.batch_size, images.to(device)
    torch.manual_seed(0)
    task = create_task(name, create_encoder(args.encoder)).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(task.parameters(), lr=1e-3)
    gen = torch.Generator(device=device).manual_seed(0)

    def train_on(inputs):
        loss = task.loss(inputs, Progress()).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def ours(i):
        batch = on_device[(i * b) % len(on_device):][:b].float().div_(255)
        train_on(task.make_inputs(batch.contiguous(memory_format=torch.channels_last), gen))

    if name == "simclr":
        transform = plain_simclr_transform(task.params)

        def plain(i):
            batch = images[(i * b) % len(images):][:b]
            views = [torch.stack([transform(image) for image in batch]) for _ in range(2)]
            views = [v.to(device).float().div_(255).contiguous(memory_format=torch.channels_last) for v in views]
            train_on(tuple(views))
    else:
        from workbench.tasks.rotation import rotate_all
        transform = v2.Compose([v2.RandomResizedCrop(32, scale=(task.params.crop_min_scale, 1.0)),
                                v2.RandomHorizontalFlip()])

        def plain(i):
            batch = images[(i * b) % len(images):][:b]
            cropped = torch.stack([transform(image) for image in batch]).to(device).float().div_(255)
            train_on(rotate_all(cropped.contiguous(memory_format=torch.channels_last)))

    ours_speed = timed(ours, args.steps, b, sync)
    plain_speed = timed(plain, args.steps, b, sync)
    print(f"{name:<9} ours {ours_speed:8.0f} img/s   plain per-image transforms {plain_speed:8.0f} img/s   "
          f"ratio {ours_speed / plain_speed:5.2f}x")

    # the augmentation alone: where the difference comes from
    batch = on_device[:b].float().div_(255)
    if name == "simclr":
        aug_ours = timed(lambda i: task.make_inputs(batch, gen), args.steps, b, sync)
        aug_plain = timed(lambda i: [transform(image) for image in images[:b] for _ in range(2)], args.steps, b,
                          sync)
        print(f"{'':<9} augmentation only: ours {aug_ours:8.0f} img/s   plain {aug_plain:8.0f} img/s   "
              f"ratio {aug_ours / aug_plain:5.2f}x")
    return {"task": name, "encoder": args.encoder, "batch": b, "ours_img_s": f"{ours_speed:.0f}",
            "plain_img_s": f"{plain_speed:.0f}", "ratio": f"{ours_speed / plain_speed:.2f}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--encoder", default="small_cnn")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    images, _ = generate_shapes(max(2048, 4 * args.batch_size))
    print(f"device {device}, encoder {args.encoder}, batch {args.batch_size}, {args.steps} timed steps, "
          f"{torch.get_num_threads()} threads")
    rows = [compare(name, args, images, device, sync) for name in ("simclr", "rotation")]
    source = measured_by("train_step.py")
    save_rows(results_path("train_step", "shapes", device, "float32"), [{**row, "source": source} for row in rows],
              key=("task", "encoder", "batch"))

if __name__ == "__main__":
    main()
