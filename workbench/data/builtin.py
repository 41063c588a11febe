"""The data sets that need no files from the user: Shapes, Painted shapes, Digits and the Roles stories, which ship
with the workbench, and Fashion-MNIST and the fortunes where Debian's packages are installed — their names,
descriptions, views and loaders."""

import torch

from . import fashion
from .dataset import ImageDataset
from .pixels import resize_images
from .shapes import SHAPE_NAMES, generate_shapes
from .text import fortunes
from .text.corpus import CLASS_NAMES, generate_roles
from .text.dataset import TextDataset

DEFAULT_DATA = "shapes"
BUILTIN = {
    "shapes": "Shapes — 10 generated shape classes in random colours, sizes, places and backgrounds",
    "painted_shapes": "Painted shapes — the 10 shapes, each kind in its own colour (circles red, rings orange, …), "
                      "as objects in photographs have theirs: colorization's data",
    "digits": "Digits — 1,797 handwritten 8×8 digits from scikit-learn, upscaled",
    "roles": "Roles (text) — 6,000 generated stories of three animals, labelled by who did what to whom: word "
             "order decides, a bag of words is at chance",
}
INSTALLABLE = {
    "fashion_mnist": "Fashion-MNIST — 70,000 28×28 grey pictures of clothes, 10 classes (Debian's package)",
    "fortunes": "Fortunes (text) — 5,131 quotations, jokes and definitions in 12 topics, from Debian's fortune "
                "files: real English, where a bag of words does well",
}
INSTALLED = {"fashion_mnist": fashion.installed, "fortunes": fortunes.installed}
TEXT_BUILTINS = ("roles", "fortunes")
# The sets a program draws, not taken from the world. A task's CPU preset is shaped on them; on every other set —
# photographs, real text, a folder or file of the user's — a task's preset for real data runs where it has one.
GENERATED = ("shapes", "painted_shapes", "roles")
# The order of the choices: pictures first, then texts, each kind's installable sets after its own.
ORDER = ("shapes", "painted_shapes", "digits", "fashion_mnist", "roles", "fortunes")

# The joint-embedding views' strengths (fields of tasks.parts.views.ViewParams) that a data set needs beyond the
# papers' defaults, which assume upright photographs. Shapes: every image is one shape with a random tilt,
# colour and place, and those few nuisance values tell one image from the 4,999 others better than its shape
# (500 images share each shape), so two views are matched by them unless the views change them — with the
# papers' views, MoCo, BYOL and SimSiam stayed at chance. Larger crops keep the shape in the view, strong colour
# jitter and many grey views break colour matching, and turns of up to ±180° break tilt matching.
SHAPES_VIEWS = {"crop_min_scale": 0.5, "color_jitter": 1.0, "grayscale_probability": 0.5, "rotation_degrees": 180.0}
VIEW_PRESETS = {"shapes": SHAPES_VIEWS, "painted_shapes": SHAPES_VIEWS}


def available_builtins() -> dict[str, str]:
    """The built-in choices this machine has, Shapes first (the default): {name: description}."""
    return {name: BUILTIN.get(name) or INSTALLABLE[name] for name in ORDER
            if name in BUILTIN or INSTALLED[name]()}


def is_builtin(name: str) -> bool:
    """Whether `name` (in lower case) is a built-in choice, installed on this machine or not."""
    return name in BUILTIN or name in INSTALLABLE


def builtin_version(name: str) -> str:
    """What changes when the built-in set's data changes: only the installed packages' files can."""
    versions = {"fashion_mnist": fashion.files_version, "fortunes": fortunes.files_version}
    return versions[name]() if name in versions else ""


def load_builtin(name: str, image_size: int) -> ImageDataset | TextDataset:
    """The built-in set `name` at `image_size` pixels (images; texts ignore it), split as it always is."""
    if name == "roles":
        return _roles()
    if name == "fortunes":
        return fortunes.load_fortunes()
    if name in ("shapes", "painted_shapes"):
        return _shapes(name, image_size)
    return _fashion_mnist(image_size) if name == "fashion_mnist" else _digits(image_size)


def _roles() -> TextDataset:
    _, train_x, train_y = generate_roles(5000, seed=0)
    _, test_x, test_y = generate_roles(1000, seed=1)
    return TextDataset("roles", train_x, train_y, test_x, test_y, list(CLASS_NAMES), tokens="words")


def _shapes(name: str, image_size: int) -> ImageDataset:
    painted = name == "painted_shapes"
    train_x, train_y = generate_shapes(5000, seed=0, image_size=image_size, painted=painted)
    test_x, test_y = generate_shapes(1000, seed=1, image_size=image_size, painted=painted)
    return ImageDataset(name, train_x, train_y, test_x, test_y, list(SHAPE_NAMES))


def _fashion_mnist(image_size: int) -> ImageDataset:
    splits = fashion.load_fashion_mnist(fashion.FASHION_MNIST_DIR)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    return ImageDataset("fashion_mnist", resize_images(train_x[:, None], image_size), torch.from_numpy(train_y),
                        resize_images(test_x[:, None], image_size), torch.from_numpy(test_y),
                        list(fashion.CLASSES), [f"Fashion-MNIST from {fashion.FASHION_MNIST_DIR}: its own "
                                                "60,000 / 10,000 train/test split"])


def _digits(image_size: int) -> ImageDataset:
    from sklearn.datasets import load_digits  # ships inside scikit-learn: no download

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16  # (N, 1, 8, 8)
    images = torch.nn.functional.interpolate(images, size=image_size, mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    test, train = order[:360], order[360:]
    return ImageDataset("digits", images[train], labels[train], images[test], labels[test],
                        [str(d) for d in range(10)])
