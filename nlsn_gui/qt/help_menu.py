"""The Help menu: keyboard shortcuts, where the documentation is, and what this build is."""

from __future__ import annotations

import platform

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QMainWindow, QMessageBox, QTableWidget, \
    QTableWidgetItem, QVBoxLayout

from core import __version__
from resources import CHECKOUT

DOCS = CHECKOUT / "docs"
README = CHECKOUT / "README.md"


def shortcuts(window: QMainWindow) -> list[tuple[str, str]]:
    """(what, keys) of every action of the window that has a shortcut, in menu words."""
    rows = {}
    for action in window.actions():
        keys = action.shortcut().toString(QKeySequence.NativeText)
        if keys:
            rows[action.text().replace("&", "").rstrip("…")] = keys
    return sorted(rows.items(), key=lambda row: row[0].lower())


def show_shortcuts(window: QMainWindow) -> QDialog:
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard Shortcuts")
    rows = shortcuts(window)
    table = QTableWidget(len(rows), 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    for row, (what, keys) in enumerate(rows):
        table.setItem(row, 0, QTableWidgetItem(what))
        table.setItem(row, 1, QTableWidgetItem(keys))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
    buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(420, 520)
    dialog.show()
    return dialog


def docs_target() -> QUrl | None:
    """The README (which links the rest of docs/), or the docs folder; None when neither shipped."""
    for path in (README, DOCS):
        if path.exists():
            return QUrl.fromLocalFile(str(path))
    return None


def open_docs(window: QMainWindow, status) -> None:
    target = docs_target()
    if target is None or not QDesktopServices.openUrl(target):
        status(f"The documentation is in the project's README.md and docs/ ({CHECKOUT})")
    else:
        status(f"Opened {target.toLocalFile()}")


def about_text() -> str:
    import PySide6
    import torch

    from core.inference import available_devices

    devices = ", ".join(d.upper() if d != "cpu" else "CPU" for d in available_devices())
    return (
        f"<b>NLSN Studio {__version__}</b><br>Image super-resolution with the Non-Local Sparse Network "
        "(Mei, Fan and Zhou, CVPR 2021).<br><br>Loads the authors' released checkpoints and ships its own "
        "models; also on the command line as <code>nlsn</code> (<code>nlsn --help</code>).<br><br>"
        f"torch {torch.__version__} · PySide6 {PySide6.__version__} · Python {platform.python_version()}<br>"
        f"Devices: {devices}<br>Documentation: {README if README.exists() else CHECKOUT}"
    )


def show_about(window: QMainWindow) -> None:
    QMessageBox.about(window, "About NLSN Studio", about_text())
