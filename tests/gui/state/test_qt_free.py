"""The state layer and the worker jobs load and run without Qt."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import ROOT


def test_state_and_tasks_import_no_qt():
    code = (
        "import pkgutil, importlib, sys\n"
        "import nlsn_gui.state, nlsn_gui.tasks\n"
        "for pkg in (nlsn_gui.state, nlsn_gui.tasks):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph') or m.startswith('nlsn_gui.qt'))\n"
        "print('qt modules:', bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "qt modules: []" in done.stdout
