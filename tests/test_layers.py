"""The house's rules, read from the source: the tree reads as its layers, imports run one way, rooms stay small."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"
# Lower layers first: a module may import its own layer and those below it, never one above. Data flows
# ui/cli → inspection (a run opened and measured) → engine → evaluation → tasks → models, data, augment.
LAYERS = [("data", "augment", "models"), ("tasks",), ("evaluation",), ("engine",), ("inspection",), ("cli", "ui")]
LAYER_OF = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
MAX_LINES, MAX_FUNCTION_LINES = 300, 60


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name: workbench.engine.loop → its file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports, anywhere in it (a function's import counts too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known, found = modules(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from . import augment` imports a module; `from .x import f`, x
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in known and module != name}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else None


GRAPH = {name: imports_of(name, path) for name, path in modules().items()}


def test_the_top_of_the_package_holds_packages_and_at_most_three_modules():
    top_modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_modules) <= 3, top_modules
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {part for parts in LAYERS for part in parts} - {"augment"}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_run_from_higher_layers_to_lower_ones_only(name):
    if layer(name) is None:  # workbench/__init__.py and __main__: the package's front door
        return
    upward = [module for module in GRAPH[name] if layer(module) is not None and layer(module) > layer(name)]
    assert not upward, f"{name} (layer {LAYERS[layer(name)]}) imports {upward} from a higher layer"


def test_no_import_cycle():
    state: dict[str, str] = {}

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(GRAPH[module]):
            if state.get(imported) == "open":
                raise AssertionError(" → ".join(trail + [module, imported]))
            if imported not in state:
                visit(imported, trail + [module])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])


def test_the_core_never_imports_gradio():
    def imports_gradio(path):
        return any(isinstance(node, (ast.Import, ast.ImportFrom)) and "gradio" in ast.unparse(node)
                   for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))

    offenders = [name for name, path in modules().items() if not name.startswith(("workbench.ui", "workbench.cli"))
                 and imports_gradio(path)]
    assert not offenders


def test_no_file_over_300_lines_and_no_function_over_60():
    too_long = [f"{path.relative_to(PACKAGE.parent)}: {length} lines" for path in PACKAGE.rglob("*.py")
                if (length := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)
