"""The main toolbar: Open, Save, and the choices of an upscale (mode, scale, model, device, seed)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QPushButton, QSpinBox, QToolBar, QWidget

from nlsn_gui.state.choices import SCALES, ModelEntry

OPEN_MODEL = "__open__"  # the model box's last entry: "Open model…"


class MainToolbar(QToolBar):
    def __init__(self, window: QMainWindow, *, actions: list, devices: list[str]) -> None:
        super().__init__("Main", window)
        self.setObjectName("main-toolbar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for action in actions:  # their short icon text ("Open", "Save"): the menus keep the long one
            self.addAction(action)
        self.addSeparator()
        self.mode_box = QComboBox()
        self.mode_box.addItem("Upscale the image", "upscale")
        self.mode_box.addItem("Simulate from HR", "simulate")
        self._labelled("Mode", self.mode_box,
                       "Upscale: the image is the low-resolution input.\n"
                       "Simulate: the image is the truth; it is downscaled (MATLAB bicubic), upscaled and scored.")
        self.scale_box = QComboBox()
        for s in SCALES:
            self.scale_box.addItem(f"×{s}", s)
        self._labelled("Scale", self.scale_box, "Upscaling factor")
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(14)  # longer names are elided: Upscale must stay in view
        self.model_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self._labelled("Model", self.model_box, "Bundled model for the scale, or a model file you opened")
        self.device_box = QComboBox()
        for name in devices:
            self.device_box.addItem(name.upper() if name != "cpu" else "CPU", name)
        self._labelled("Device", self.device_box, "Where the network runs")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setFixedWidth(self.seed_box.fontMetrics().horizontalAdvance("0000000") + 30)
        self._labelled("Seed", self.seed_box, "Seed of the random hash rotations of the sparse attention")
        self.addSeparator()
        self.upscale_button = QPushButton("Upscale")
        self.upscale_button.setDefault(True)
        self.upscale_button.setToolTip("Run NLSN (Ctrl+Enter)")
        self.upscale_button.setMinimumWidth(96)
        self.addWidget(self.upscale_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.addWidget(self.cancel_button)

    def _labelled(self, text: str, widget: QWidget, tip: str) -> None:
        label = QLabel(text)
        label.setContentsMargins(6, 0, 3, 0)
        widget.setToolTip(tip)
        self.addWidget(label)
        self.addWidget(widget)

    def show_models(self, entries: list[ModelEntry], *, scale: int, current: str | None) -> None:
        """Fill the model box (bundled and opened models, then "Open model…") keeping ``current``."""
        box = self.model_box
        box.blockSignals(True)
        box.clear()
        for entry in entries:
            box.addItem(entry.label, entry.path)
        if box.count() == 0:
            box.addItem(f"no x{scale} model: open one…", OPEN_MODEL)
        else:
            box.insertSeparator(box.count())
            box.addItem("Open model…", OPEN_MODEL)
        index = box.findData(current) if current not in (None, OPEN_MODEL) else -1
        box.setCurrentIndex(max(index, 0))
        box.blockSignals(False)

    def model(self) -> str | None:
        data = self.model_box.currentData()
        return None if data in (None, OPEN_MODEL) else str(data)


def select(box: QComboBox, data) -> None:
    """Choose the entry holding ``data`` (if any) without announcing it."""
    index = box.findData(data)
    if index >= 0 and index != box.currentIndex():
        box.blockSignals(True)
        box.setCurrentIndex(index)
        box.blockSignals(False)
