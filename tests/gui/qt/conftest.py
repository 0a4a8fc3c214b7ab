"""The window and a tiny model, for every GUI test (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.gui.qt.helpers import make_window, save_tiny  # noqa: E402


@pytest.fixture()
def window(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path)
    yield win
    win.training_panel.confirm_close()  # never leave a run on the worker
    win.worker.shutdown()


@pytest.fixture()
def tiny_model(tmp_path):
    return save_tiny(tmp_path / "tiny-x2.safetensors")
