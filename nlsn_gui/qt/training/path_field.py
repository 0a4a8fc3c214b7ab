"""A line edit with a Browse… button that picks a folder (or a file, given a name filter)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class PathField(QWidget):
    """A line edit with a Browse… button that picks a folder (or a file, given a name filter)."""

    edited = Signal()

    def __init__(self, title: str, placeholder: str = "", parent: QWidget | None = None, *,
                 file_filter: str | None = None, start_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.file_filter = file_filter
        self.start_dir = start_dir  # where Browse… opens while the field is empty (default: home)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.textEdited.connect(lambda _t: self.edited.emit())
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        self.edit.setText(text)

    def _browse(self) -> None:
        start = self.text() or str(self.start_dir or Path.home())
        while start and not Path(start).is_dir() and Path(start).parent != Path(start):
            start = str(Path(start).parent)
        if self.file_filter is not None:
            path, _ = QFileDialog.getOpenFileName(self, self.title, start, self.file_filter)
        else:
            path = QFileDialog.getExistingDirectory(self, self.title, start)
        if path:
            self.edit.setText(path)
            self.edited.emit()
