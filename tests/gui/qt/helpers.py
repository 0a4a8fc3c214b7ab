"""Driving the real window in tests: build one, wait until it is idle, choose a model."""

from __future__ import annotations

import torch
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from core.checkpoints import save_model
from core.network import NLSN, NLSNConfig, preset

TIMEOUT = 60_000


def make_window(qtbot, tmp_path, *, name: str = "settings.ini", size=(1400, 900)):
    """A main window with its own settings file; errors go to the status bar only (no message boxes)."""
    from nlsn_gui.qt.main_window import MainWindow

    QApplication.instance().setProperty("nlsn_quiet", True)
    win = MainWindow(settings=QSettings(str(tmp_path / name), QSettings.IniFormat))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    return win


def idle(qtbot, win, timeout: int = TIMEOUT) -> None:
    """Wait until every job the window submitted has ended."""
    qtbot.waitUntil(lambda: not win.worker.busy and win.jobs.idle, timeout=timeout)


def save_tiny(path, config: NLSNConfig | None = None):
    """A random-weight model file (the tiny configuration at x2 unless given)."""
    torch.manual_seed(1)
    save_model(path, NLSN(config or preset("tiny", scale=2)))
    return path


def use_model(qtbot, win, path) -> None:
    win.open_model(path)
    idle(qtbot, win)
    assert win.model_path() == str(path), win.status_label.text()
