"""The layout's rules, checked: import-linter's contracts, no import cycles, files of one concept,
and tests and benchmarks that stand on ``core`` rather than on each other."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.paths import ROOT

MAX_LINES = 500
PACKAGES = ("core", "nlsn_gui", "resources")


def test_import_contracts_hold():
    pytest.importorskip("importlinter")
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _import_cycles() -> list[list[str]]:
    """Strongly connected groups of modules of the project (Tarjan's algorithm over direct imports)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph(*PACKAGES)
    edges = {m: sorted(d for d in graph.find_modules_directly_imported_by(m) if d in graph.modules)
             for m in sorted(graph.modules)}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in edges:
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles():
    assert _import_cycles() == []


def test_every_source_file_is_small():
    long = {str(p.relative_to(ROOT)): n for package in ("core", "nlsn_gui") for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_tests_and_benchmarks_do_not_import_each_other():
    offending = []
    for folder, other in (("tests", "benchmarks"), ("benchmarks", "tests")):
        pattern = re.compile(rf"^\s*(from|import)\s+{other}\b", re.MULTILINE)
        offending += [str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*.py") if pattern.search(p.read_text())]
    assert offending == []
