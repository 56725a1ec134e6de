"""The library's architecture, checked: layers, no import cycle, checkpoints that know no class.

The picture in CONTRIBUTING.md, as data: every module belongs to a layer and may import
only from its own layer or below. Imports are read from the source (also those inside
functions, which a plain ``import`` would not reveal), so a lazy import that closes a
cycle fails here.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import bandits_lib

PACKAGE = Path(bandits_lib.__file__).parent

#: Bottom (0) to top: a module imports from its layer or a lower one.
LAYERS = {
    0: {"config", "_validation", "params", "checkpoint", "_kernels", "style"},
    1: {"confidence", "forgetting", "exploration", "networks", "jacobian", "training"},
    2: {"agents", "envs", "data"},
    3: {"experiments", "recommender", "reference", "offpolicy", "diagnostics"},
    4: {"playground", "plotting"},
    5: {"web", "widgets"},
}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (packages as their __init__)."""
    found = {"bandits_lib": PACKAGE / "__init__.py"}
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="bandits_lib."):
        relative = info.name.split(".")[1:]
        path = PACKAGE.joinpath(*relative)
        found[info.name] = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rsplit(".", 1)[0]
    edges = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from .x import y" imports module x.y when y is a submodule, else module x
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        edges.update(target for target in targets if target in known and target != name)
    return edges


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def layer(name: str) -> int:
    if name == "bandits_lib":
        return max(LAYERS) + 1
    top = name.split(".")[1]
    return next(level for level, members in LAYERS.items() if top in members)


def test_every_module_has_a_layer(graph):
    for name in graph:
        assert isinstance(layer(name), int), name


def test_no_module_imports_from_a_higher_layer(graph):
    upward = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
              for a, targets in graph.items() for b in targets if layer(b) > layer(a)]
    assert not upward, "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """An import cycle of ``graph`` (module -> imported modules), or None; depth-first search for a back edge.

    A package's ``__init__`` importing its own submodules is how packages are built, not a cycle.
    """
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_can_fail(graph):
    """The search finds a planted cycle, and a lazy import that closes one in the real graph."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert "bandits_lib.agents.base" in graph["bandits_lib.experiments"]  # the graph is not empty
    planted = {name: set(targets) for name, targets in graph.items()}
    planted["bandits_lib.checkpoint"].add("bandits_lib.agents.base")  # the old checkpoint module's lazy import
    assert find_cycle(planted) is not None


def test_checkpoints_know_no_class_of_the_library(graph):
    assert graph["bandits_lib.checkpoint"] == set()


def test_public_api_is_small_and_importable():
    assert len(bandits_lib.__all__) <= 60
    for name in bandits_lib.__all__:
        assert hasattr(bandits_lib, name), name
