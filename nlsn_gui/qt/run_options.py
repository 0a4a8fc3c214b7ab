"""Model > ×8 Self-Ensemble, Precision, Memory and Tiles…; File > JPEG/WebP Quality…, Show in Folder.

How an upscale runs (:class:`~nlsn_gui.state.choices.RunOptions`), chosen from the menus and
remembered; the window reads :attr:`RunOptionsControl.options` when it submits a job.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QActionGroup, QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QInputDialog,
    QMenu,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from core.inference.tiles import MIN_TILE
from nlsn_gui.state.choices import RunOptions

ROUNDS = (None, 1, 2, 4, 8, 16)
PRECISIONS = (("auto", "Auto (fp16 on a GPU, fp32 on the CPU)"), ("fp32", "fp32"),
              ("bf16", "bf16 (CPUs with AVX-512 BF16 or AMX, recent GPUs)"), ("fp16", "fp16 (GPUs only)"))


class MemoryDialog(QDialog):
    def __init__(self, options: RunOptions, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Memory and Tiles")
        self.whole = QRadioButton("The whole image whenever it fits half the free memory (default)")
        self.by_memory = QRadioButton("At most")
        self.by_tile = QRadioButton("Tiles of at most")
        group = QButtonGroup(self)
        for button in (self.whole, self.by_memory, self.by_tile):
            group.addButton(button)
        self.memory = QDoubleSpinBox()
        self.memory.setRange(0.25, 1024)
        self.memory.setSuffix(" GiB")
        self.memory.setValue(options.memory_gib or 2.0)
        self.tile = QSpinBox()
        self.tile.setRange(MIN_TILE, 8192)
        self.tile.setSuffix(" px")
        self.tile.setValue(options.tile or 256)
        grid = QGridLayout()
        grid.addWidget(self.whole, 0, 0, 1, 2)
        grid.addWidget(self.by_memory, 1, 0)
        grid.addWidget(self.memory, 1, 1)
        grid.addWidget(self.by_tile, 2, 0)
        grid.addWidget(self.tile, 2, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        (self.by_tile if options.tile else self.by_memory if options.memory_gib else self.whole).setChecked(True)

    def chosen(self, options: RunOptions) -> RunOptions:
        return replace(options, memory_gib=self.memory.value() if self.by_memory.isChecked() else None,
                       tile=self.tile.value() if self.by_tile.isChecked() else None)


class RunOptionsControl:
    def __init__(self, window, *, model_menu: QMenu, file_menu: QMenu, before=None) -> None:
        self.window = window
        self.options = RunOptions.restore(window.settings)
        self.last_saved: Path | None = None
        self.ensemble = model_menu.addAction("×8 Self-&Ensemble")
        self.ensemble.setCheckable(True)
        self.ensemble.setChecked(self.options.ensemble)
        self.ensemble.setStatusTip("Average the 8 flips and transposes: a little sharper, 8 times the time")
        self.ensemble.toggled.connect(lambda on: self._set(ensemble=on))
        precision = model_menu.addMenu("&Precision")
        group = QActionGroup(precision)
        self.precision_actions = {}
        for key, label in PRECISIONS:
            action = precision.addAction(label)
            action.setCheckable(True)
            action.setChecked(key == self.options.precision)
            action.triggered.connect(lambda _checked=False, key=key: self._set(precision=key))
            group.addAction(action)
            self.precision_actions[key] = action
        rounds = model_menu.addMenu("Hash &Rounds")
        rounds.setToolTipsVisible(True)
        group = QActionGroup(rounds)
        self.rounds_actions = {}
        for value in ROUNDS:
            action = rounds.addAction("The model's own (the paper: 4)" if value is None else f"{value}")
            action.setCheckable(True)
            action.setChecked(value == self.options.rounds)
            action.setStatusTip("How many times the sparse attention hashes (NLSN only): more rounds, more "
                                "time, a little more accuracy (the paper's Table 3)")
            action.triggered.connect(lambda _checked=False, value=value: self._set(rounds=value))
            group.addAction(action)
            self.rounds_actions[value] = action
        model_menu.addAction("&Memory and Tiles…", self.memory_dialog)
        file_menu.insertAction(before, file_menu.addAction("JPEG/WebP &Quality…", self.quality_dialog))
        file_menu.insertAction(before, file_menu.addAction("Show Saved File in &Folder", self.show_folder))

    def _set(self, **changes) -> None:
        self.options = replace(self.options, **changes)
        self.options.save(self.window.settings)
        if "rounds" in changes:
            self.window._choices_changed()  # a result of other rounds says so on its panel
        text = self.options.text()
        self.window.status_label.setText(f"Upscale: {text}" if text else "Upscale: whole image, default precision")

    def memory_dialog(self) -> None:
        dialog = MemoryDialog(self.options, parent=self.window)
        if dialog.exec():
            chosen = dialog.chosen(self.options)
            self._set(memory_gib=chosen.memory_gib, tile=chosen.tile)

    def quality_dialog(self) -> None:
        value, ok = QInputDialog.getInt(self.window, "JPEG/WebP Quality", "Quality (WebP 100: lossless):",
                                        self.options.quality, 1, 100)
        if ok:
            self._set(quality=value)

    def show_folder(self) -> bool:
        """Open the folder of the file saved last (else of the image) in the file manager."""
        doc = self.window.doc
        target = self.last_saved or (doc.path if doc is not None else None)
        if target is None:
            self.window.status_label.setText("Nothing saved yet")
            return False
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(target.parent)))
        self.window.status_label.setText(f"{'Opened' if opened else 'The folder is'} {target.parent}")
        return opened
