"""Who may read what: a path typed in the page is read only inside the folders the app was started with."""

from pathlib import Path

from .errors import DataError, shown
from .torchvision_sets import parse_spec


def default_roots() -> list[Path]:
    """The working folder and the home folder: what `--data-root` means when it is not given."""
    return [Path.cwd(), Path.home()]


def check_allowed(path, roots) -> Path:
    """`path` resolved (links followed, so a link cannot lead elsewhere) when it lies inside one of `roots`;
    else DataError."""
    resolved = Path(path).expanduser().resolve()
    allowed = [Path(root).expanduser().resolve() for root in roots]
    if not any(resolved.is_relative_to(root) for root in allowed):
        listed = ", ".join(shown(root) for root in allowed) or "none"
        raise DataError(f"{shown(path)} is outside the folders this app may read: {listed}; start it with "
                        "--data-root FOLDER to allow another")
    return resolved


def allowed_spec(spec: str, roots, builtins) -> str:
    """A data box's text, checked: a name in `builtins` as it is, "NAME:ROOT" with its ROOT checked, and any
    other text as a folder path that must lie inside `roots`."""
    spec = str(spec).strip()
    if spec.lower() in builtins:
        return spec.lower()
    torchvision_set = parse_spec(spec)
    if torchvision_set:
        name, root = torchvision_set
        return f"{name}:{check_allowed(root, roots)}"
    return str(check_allowed(spec, roots))
