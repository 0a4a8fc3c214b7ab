"""The Runs tab: the run folders the panel knows, newest first; tick runs to overlay their curves."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from nlsn_gui.state.training import RunList, describe_run


class RunsTab(QWidget):
    openRequested = Signal(Path)
    resumeRequested = Signal(Path)
    removeRequested = Signal(Path)
    addChosen = Signal(Path)
    checkedChanged = Signal()
    selectionChanged = Signal()

    def __init__(self, runs: RunList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.start_dir = Path.home()  # where Add… opens (the panel sets the runs' root)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        hint = QLabel("Double-click a run to view it; tick runs to overlay their loss and PSNR.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        layout.addWidget(hint)
        self.list = QListWidget()
        self.list.itemChanged.connect(self._checked)
        self.list.itemDoubleClicked.connect(lambda item: self.openRequested.emit(Path(item.data(Qt.UserRole))))
        self.list.currentItemChanged.connect(lambda *_: self.selectionChanged.emit())
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.add_button = self._button(row, "Add…", "Add a run folder (e.g. one trained with `nlsn train`)", self._add)
        self.open_button = self._button(row, "Open", "Show the run's curves and previews",
                                        lambda: self._emit_selected(self.openRequested))
        self.resume_button = self._button(row, "Resume…", "Set up to continue this run from its checkpoint",
                                          lambda: self._emit_selected(self.resumeRequested))
        self.remove_button = self._button(row, "Remove", "Remove from the list (the folder stays on disk)",
                                          lambda: self._emit_selected(self.removeRequested))
        layout.addLayout(row)
        self.list.blockSignals(True)
        for path in reversed(runs.paths):  # items go on top: newest first, as saved
            self._insert(Path(path), checked=path in runs.checked)
        self.list.blockSignals(False)

    @staticmethod
    def _button(row: QHBoxLayout, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    def _insert(self, run_dir: Path, *, checked: bool) -> QListWidgetItem:
        item = QListWidgetItem(describe_run(run_dir))
        item.setData(Qt.UserRole, str(run_dir))
        item.setToolTip(str(run_dir))
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
        self.list.insertItem(0, item)
        return item

    def item(self, run_dir: Path) -> QListWidgetItem | None:
        key = str(run_dir)
        return next((self.list.item(i) for i in range(self.list.count()) if self.list.item(i).data(Qt.UserRole) == key),
                    None)

    def add(self, run_dir: Path, *, checked: bool = False) -> None:
        """List ``run_dir`` (remembered) and select it."""
        self.runs.add(run_dir, checked=checked)
        item = self.item(run_dir)
        self.list.blockSignals(True)
        if item is None:
            item = self._insert(run_dir, checked=checked)
        elif checked:
            item.setCheckState(Qt.Checked)
        self.list.blockSignals(False)
        self.list.setCurrentItem(item)

    def set_line(self, run_dir: Path, text: str) -> None:
        """What the list says about ``run_dir`` (the live run's line follows it)."""
        item = self.item(run_dir)
        if item is not None and item.text() != text:
            item.setText(text)

    def refresh_line(self, run_dir: Path) -> None:
        self.set_line(run_dir, describe_run(run_dir))

    def check(self, run_dir: Path) -> None:
        item = self.item(run_dir)
        if item is not None:
            item.setCheckState(Qt.Checked)  # -> _checked

    def remove(self, run_dir: Path) -> None:
        item = self.item(run_dir)
        if item is not None:
            self.list.takeItem(self.list.row(item))
        self.runs.remove(run_dir)

    def selected(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(Qt.UserRole)) if item is not None else None

    def _emit_selected(self, signal) -> None:
        path = self.selected()
        if path is not None:
            signal.emit(path)

    def _checked(self, item: QListWidgetItem) -> None:
        self.runs.set_checked(Path(item.data(Qt.UserRole)), item.checkState() == Qt.Checked)
        self.checkedChanged.emit()

    def _add(self) -> None:
        start = self.start_dir if self.start_dir.is_dir() else Path.home()
        path = QFileDialog.getExistingDirectory(self, "Add a training run", str(start))
        if path:
            self.addChosen.emit(Path(path))

    def set_enabled(self, *, live: bool) -> None:
        has = self.list.currentItem() is not None
        self.resume_button.setEnabled(not live and has)
        self.open_button.setEnabled(has)
        self.remove_button.setEnabled(has)
