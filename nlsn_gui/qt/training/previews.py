"""The validation crops (LR (nearest) │ NLSN │ HR) of the run in view, with a slider back in time."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStackedWidget, QVBoxLayout, QWidget

from core.train import HistorySnapshot, RunHistory


class Previews(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        header = QLabel("Validation crops: LR (nearest) │ NLSN │ HR")
        header.setAlignment(Qt.AlignCenter)
        layout.addWidget(header)
        self.view = pg.GraphicsLayoutWidget()
        self.view.ci.setContentsMargins(2, 2, 2, 2)
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        self.empty = QLabel("Crops of the validation images\nappear here at each validation.")
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Step back through earlier validations")
        self.slider.valueChanged.connect(self._moved)
        row.addWidget(self.slider, 1)
        self.label = QLabel("–")
        self.label.setMinimumWidth(100)
        row.addWidget(self.label)
        layout.addLayout(row)
        self.setMinimumWidth(170)
        self.history: RunHistory | None = None
        self.steps: list[int] = []
        self._follow = True  # the slider stays on the newest validation until moved back

    def show_history(self, history: RunHistory) -> None:
        """Another run in view: nothing of the one before stays (its crops are not this run's)."""
        self.history, self.steps, self._follow = history, [], True
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(False)
        self._show(0)

    def update(self, snap: HistorySnapshot) -> None:
        """New previews in ``snap``: the slider follows the newest unless moved back."""
        if snap.preview_steps == self.steps:
            return
        self.steps = list(snap.preview_steps)
        count = len(self.steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        if self._follow or self.slider.value() >= count:
            self.slider.setValue(max(count - 1, 0))
        self.slider.blockSignals(False)
        self.slider.setEnabled(count > 1)
        self._show(self.slider.value())

    def index(self) -> int:
        return self.slider.value()

    def image(self):
        """The pixels shown."""
        return self.item.image

    def _moved(self, index: int) -> None:
        self._follow = index >= self.slider.maximum()
        self._show(index)

    def _show(self, index: int) -> None:
        image = self.history.preview(index) if self.history is not None and self.steps else None
        if image is None:
            self.item.clear()
            self.stack.setCurrentWidget(self.empty)
            self.label.setText("–")
            return
        self.stack.setCurrentWidget(self.view)
        resize = self.item.image is None or self.item.image.shape != image.shape
        self.item.setImage(image, autoLevels=False, levels=(0, 255))
        if resize:
            self.box.autoRange(padding=0.02)
        step = self.steps[index]
        snap = self.history.snapshot()
        matches = [i for i, s in enumerate(snap.val_steps.tolist()) if s == step]
        score = f" · {snap.psnr[matches[0]]:.2f} dB" if matches else ""
        self.label.setText(f"{index + 1}/{len(self.steps)} · step {step:,}{score}")
