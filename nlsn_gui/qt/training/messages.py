"""The training panel's messages: one readable line above the plots, and the Log tab keeping them all."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit

BANNER_COLOURS = {"error": "224, 68, 62", "warning": "196, 156, 48", "info": "64, 156, 255"}


class Messages:
    def __init__(self) -> None:
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner.hide()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(1000)
        self.log.setPlaceholderText("Messages of the run appear here.")

    def show(self, text: str, level: str = "info") -> None:
        """The line above the plots (errors in red); also kept in the log."""
        rgb = BANNER_COLOURS.get(level, BANNER_COLOURS["info"])
        self.banner.setStyleSheet(f"QLabel {{ border: 1px solid rgb({rgb}); border-radius: 3px; padding: 4px 8px;"
                                  f" background: rgba({rgb}, 38); }}")
        self.banner.setText({"error": "Error: "}.get(level, "") + text)
        self.banner.show()
        self.line(level, text)

    def clear(self) -> None:
        self.banner.hide()
        self.banner.clear()

    def text(self) -> str:
        """The line shown above the plots ('' when none)."""
        return "" if self.banner.isHidden() else self.banner.text()

    def line(self, level: str, text: str) -> None:
        """A line in the log only."""
        mark = {"warning": "warning: ", "error": "error: "}.get(level, "")
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {mark}{text}")
