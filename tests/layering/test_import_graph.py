"""The project's import graph, from the source text (no import runs): no circles, and layers that hold.

Every `import` counts, also those inside functions or under `if __name__ == "__main__":` (an import moved
into a function hides a circle from Python, not from a reader).

Layers: `sources/` (the dlt source) imports none of the others; `transforms/` (the models) does not import
`pipelines/` (the run); only `orchestration/` imports Dagster; only the demo (`pipelines/demo.py` and its simulated
history, `pipelines/demo_history.py`) imports the emulator.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sources", "pipelines", "transforms", "orchestration")
OURS = (*PACKAGES, "leadpanther_emulator")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `name` imports: `from a import b` is `a.b` when that is a module, else `a`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            subs = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(subs or {target})
    return {m for m in found if m.split(".")[0] in OURS and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imported(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "pipelines.run" in edges["pipelines.cli"]
    assert "sources.leadpanther.helpers.errors" in edges["pipelines.errors"]
    assert "transforms" in edges["pipelines.post_load"]  # an import inside a function counts


def test_no_import_circle() -> None:
    assert cycles(graph()) == []


def test_the_check_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers() -> None:
    edges = graph()
    wrong = [
        (m, i)
        for m, imports in edges.items()
        for i in imports
        if (m.startswith("sources") and not i.startswith("sources"))
        or (m.startswith("transforms") and i.startswith(("pipelines", "orchestration")))
        or (m.startswith("pipelines") and i.startswith("orchestration"))
        or (i.startswith("leadpanther_emulator") and m not in ("pipelines.demo", "pipelines.demo_history"))
    ]
    assert wrong == []


def test_only_orchestration_imports_dagster() -> None:
    mods = modules()
    users = {
        name
        for name, path in mods.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "dagster" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "dagster")
    }
    assert users and all(name.startswith("orchestration") for name in users)
