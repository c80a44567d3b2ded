"""The roles go one way: domain ← adapters ← pipeline ← UI ← CLI; the emulator stands apart.

Enforced with import-linter (contracts in pyproject.toml), a direct check that importing the
lower layers in a fresh interpreter does not drag textual in, a check that every module
belongs to a layer, and a check that no modules import each other in a circle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("domain", "adapters", "pipeline", "ui", "cli", "emulator")


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command;"
            " sys.exit(lint_imports_command())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lower_layers_never_import_textual() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "for pkg in ('domain', 'adapters', 'pipeline'):\n"
        "    p = importlib.import_module('turktui.' + pkg)\n"
        "    for m in pkgutil.iter_modules(p.__path__):\n"
        "        importlib.import_module(f'turktui.{pkg}.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("turktui", cache_dir=None)


def test_every_module_has_a_role() -> None:
    graph = _graph()
    loose = sorted(
        m
        for m in graph.modules
        if m not in ("turktui", "turktui.__main__") and m.split(".")[1] not in ROLES
    )
    assert loose == [], f"modules outside the role folders {ROLES}: {loose}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def test_no_import_cycles() -> None:
    # Package __init__ modules are left out: importing a submodule imports its package.
    cycles = _cycles(_graph())
    assert cycles == [], f"modules that import each other in a circle: {cycles}"
