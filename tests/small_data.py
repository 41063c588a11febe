"""A small data set for tests that train: a folder of Shapes images, a few steps an epoch."""

from PIL import Image

from workbench.data.shapes import SHAPE_NAMES, generate_shapes


def shapes_folder(path, count=240):
    """`count` Shapes images in one sub-folder per class (a fifth of each is held out for the k-NN)."""
    images, labels = generate_shapes(count, seed=0)
    for i, (image, label) in enumerate(zip(images, labels.tolist())):
        folder = path / SHAPE_NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i}.png")
    return path
