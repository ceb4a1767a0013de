"""The house rules, checked on the code itself: rooms by job, imports only downward, no cycle.

import-linter (``lint-imports``, run by .ci/run) holds the layers of pyproject.toml; this file
adds what its contracts do not say: no import cycle between any two modules (function-level
imports counted), small modules in small folders, and a reason beside every import that is
deferred into a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import os4xmon

pytestmark = pytest.mark.unit

PACKAGE = Path(os4xmon.__file__).parent
MAX_LINES = 500
MAX_MODULES = 12


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def own_imports(name: str, path: Path) -> list[tuple[ast.AST, str, bool]]:
    """(node, imported module, at module level) for every import of os4xmon's own code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = set(map(id, tree.body))
    for statement in tree.body:  # "if TYPE_CHECKING:" blocks are module level: nothing runs them
        if isinstance(statement, ast.If) and getattr(statement.test, "id", "") == "TYPE_CHECKING":
            top_level.update(map(id, ast.walk(statement)))
    found: list[tuple[ast.AST, str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("os4xmon"):
                found.append((node, target, id(node) in top_level))
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for _, target, _ in own_imports(name, path):
            if target in known and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_function_level_imports_counted():
    graph = import_graph()
    # a package's __init__ importing its own submodule is not a cycle of jobs
    for name in graph:
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    assert cycles(graph) == []


def test_a_cycle_is_found_where_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_500_lines():
    long = {name: lines for name, path in modules().items()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_folder_with_more_than_12_modules():
    crowded = {str(folder.relative_to(PACKAGE.parent)): count
               for folder in [PACKAGE, *PACKAGE.rglob("*/")] if folder.is_dir()
               and (count := len([p for p in folder.glob("*.py")
                                  if p.name not in ("__init__.py", "__main__.py")]))
               > MAX_MODULES}
    assert crowded == {}


def test_no_module_shadows_the_standard_library():
    import sys

    stdlib = set(getattr(sys, "stdlib_module_names", ())) or {"queue", "numbers", "runtime"}
    shadowing = [name for name in modules() if name.rpartition(".")[2] in stdlib
                 and name.rpartition(".")[2] not in ("__main__", "__init__")]
    assert shadowing == []


def test_every_deferred_import_of_our_own_code_says_why():
    """A function-level import of os4xmon only defers a heavy dependency or a selected aspect,
    and a comment on its line (or above its block of imports) says which."""
    silent = []
    for name, path in modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, _, at_top in own_imports(name, path):
            if at_top:
                continue
            line = getattr(node, "lineno", 1)
            above = line - 2  # a comment above a block of imports covers the block
            while above > 0 and lines[above].strip().startswith(("from ", "import ")):
                above -= 1
            if "#" not in lines[line - 1] and not lines[above].strip().startswith("#"):
                silent.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    assert sorted(set(silent)) == []
