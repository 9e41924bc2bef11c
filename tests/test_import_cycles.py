"""No import cycle anywhere in the project: the import graph of every package is acyclic.

The graph is read from the source with ``ast``, so it sees every import: at the top of a module,
inside a function (the commands' lazy imports) and under ``if TYPE_CHECKING:`` (a cycle that only
the type checker follows is still two modules that cannot be understood one without the other).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.paths import REPO_ROOT

TOP_LEVEL_MODULES = ("main",)


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every module of the project's packages (a folder with an ``__init__.py`` at the root) and
    the top-level entry modules, by dotted name."""
    modules = {name: root / f"{name}.py" for name in TOP_LEVEL_MODULES}
    for init in sorted(root.glob("*/__init__.py")):
        package = init.parent
        if package.name == "tests":
            continue
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, str]]:
    """(module, name) for every imported name: ``import a.b`` gives ("a.b", ""),
    ``from a import b`` gives ("a", "b"), where b may be a submodule or a name inside a."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name


def _resolve(base: str, name: str, modules: dict[str, Path]) -> str | None:
    """The project module an import refers to: the submodule ``base.name`` when there is one,
    else the longest prefix of ``base`` that is a project module (None for outside modules)."""
    if name and f"{base}.{name}" in modules:
        return f"{base}.{name}"
    parts = base.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports. Importing ``a.b`` also runs ``a/__init__.py``;
    that implicit edge is left out, so a package may re-export its own submodules."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {
            _resolve(base, imported, modules)
            for base, imported in _imported(tree, name, path.name == "__init__.py")
        }
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_sees_the_project() -> None:
    graph = import_graph(project_modules())
    assert "main" in graph and "risk.report" in graph and "connectors.localexchange.server" in graph
    assert "risk.liquidation" in graph["risk.report"]


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_anywhere() -> None:
    found = cycles(import_graph(project_modules()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)
