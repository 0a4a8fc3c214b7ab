"""The window's status bar: a line of text, the progress of the window's job, the training run's
line (on every page) and the image's sizes."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from core.base.text import format_duration
from nlsn_gui.qt.pages import TrainingBadge


class StatusBar:
    def __init__(self, bar: QStatusBar) -> None:
        self.label = QLabel("Ready")
        bar.addWidget(self.label, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(260)
        self.progress.hide()
        bar.addPermanentWidget(self.progress)
        self.training = TrainingBadge()
        bar.addPermanentWidget(self.training)
        self.info = QLabel("")
        bar.addPermanentWidget(self.info)

    def job_started(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.show()

    def job_progress(self, fraction: float, message: str, eta: float) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"%p% · ETA {format_duration(eta)}" if math.isfinite(eta) else "%p%")
        if message and message != "done":
            self.progress.setToolTip(message)

    def jobs_ended(self) -> None:
        self.progress.hide()
