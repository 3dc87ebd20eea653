"""The package's imports: no circle anywhere, each module importable on its own, and a light
``import raregal``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import raregal

PACKAGE = Path(raregal.__file__).resolve().parent
SRC = PACKAGE.parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        names[name.removesuffix(".__init__")] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """Edges module -> module of the package, for every import (module level or in a function)."""
    modules = module_names()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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

    sys.setrecursionlimit(10_000)
    for vertex in graph:
        if vertex not in index:
            visit(vertex)
    return found


def test_no_import_circle():
    graph = import_graph()
    assert len(graph) > 80 and "raregal.reduce.stage" in graph
    assert cycles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_stages_sit_above_their_engines():
    graph = import_graph()
    engines = ("raregal.reduce.engines", "raregal.cluster.engines", "raregal.registry")
    for module in engines:
        assert not {t for t in graph[module] if t.endswith((".stage", ".search"))}, module
    engine_modules = ("raregal.reduce.raregal_umap", "raregal.reduce.umap_learn",
                      "raregal.reduce.cuml", "raregal.cluster.hdbscan_engines",
                      "raregal.cluster.cuml")  # fmt: skip
    for engine in engine_modules:
        assert not graph[engine] & {"raregal.reduce.stage", "raregal.cluster.stage",
                                    "raregal.reduce", "raregal.cluster"}, engine  # fmt: skip


def test_each_module_imports_on_its_own():
    """Each module in a fresh set of raregal modules, so that no import order hides a circle."""
    script = (
        "import importlib, sys\n"
        f"names = {sorted(module_names())!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'raregal']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=600, check=True)  # fmt: skip
    assert result.stdout.strip() == ""


def test_import_raregal_loads_no_heavy_stack():
    script = (
        "import sys, raregal, raregal.config, raregal.search, raregal.cli\n"
        "print(sorted(m for m in ('torch', 'timm', 'galsim', 'ray') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"
