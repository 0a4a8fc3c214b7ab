"""The window and a tiny model, for every GUI test (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.gui.qt.helpers import make_window, save_tiny  # noqa: E402


@pytest.fixture(autouse=True)
def _no_worker_left_running(qtbot):
    """After each test: every window's worker threads stopped, then the garbage collected, so
    that Qt and pyqtgraph objects of the test are never freed by a collection that happens while
    some worker thread is still computing (that crashed the interpreter now and then)."""
    yield
    import gc

    from PySide6.QtWidgets import QApplication

    from nlsn_gui.qt.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.worker.shutdown()
    gc.collect()


@pytest.fixture()
def window(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    yield win
    win.training_panel.confirm_close()  # never leave a run on the worker
    win.worker.shutdown()


@pytest.fixture()
def tiny_model(tmp_path):
    return save_tiny(tmp_path / "tiny-x2.safetensors")
