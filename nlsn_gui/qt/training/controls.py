"""The row above the training panel's tabs: Start, Pause, Resume, Stop, the run's state, progress and
numbers, and "Use this model"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

BUTTONS = (
    ("start", "Start", "Start a new run with the settings of the Setup tab"),
    ("pause", "Pause", "Pause after the current step (the app keeps working meanwhile; the run keeps its memory)"),
    ("resume", "Resume", "Continue the paused run"),
    ("stop", "Stop", "Stop within a second and save a checkpoint (Resume run… continues it)"),
)


class ControlBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for name, text, tip in BUTTONS:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setMinimumWidth(72)
            row.addWidget(button)
            setattr(self, f"{name}_button", button)
        self.state_label = QLabel()
        self.state_label.setMinimumWidth(150)
        self.state_label.setContentsMargins(8, 0, 4, 0)
        row.addWidget(self.state_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("")
        self.progress.setMinimumWidth(120)
        self.progress.setMaximumWidth(200)
        row.addWidget(self.progress)
        self.stats_label = QLabel()
        self.stats_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stats_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        row.addWidget(self.stats_label, 1)
        self.which_box = QComboBox()
        self.which_box.addItem("Best model", "best")
        self.which_box.addItem("Newest model", "last")
        self.which_box.setToolTip("Best: the checkpoint with the highest validation PSNR. Newest: the last one saved.")
        row.addWidget(self.which_box)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Make the run's model the upscale model of the window (its scale is selected too)")
        row.addWidget(self.use_button)
