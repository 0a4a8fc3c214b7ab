"""Keeping small linked views fitted: a view shows what it was fitted to until the user zooms or
pans, also when its panel is resized just after (e.g. the dock's scroll bar comes or goes, which
would otherwise leave the views on a range far too wide)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer


class KeptFit(QObject):
    def __init__(self, owner: QObject, *view_boxes: pg.ViewBox) -> None:
        """``view_boxes``: the first is fitted, the others are linked to it; ``owner`` (the panel
        holding them) owns this object, so nothing of it outlives the views."""
        super().__init__(owner)
        self.view_box = view_boxes[0]
        self.rect: QRectF | None = None  # what is kept in view; None once the user has moved
        for vb in view_boxes:
            vb.sigRangeChangedManually.connect(self._moved)

    def fit(self, rect: QRectF) -> None:
        self.rect = QRectF(rect)
        self.view_box.setRange(self.rect, padding=0)

    def resized(self) -> None:
        """The panel was resized: fit again once the views have their new size."""
        if self.rect is not None:
            QTimer.singleShot(0, self, self._refit)  # dropped with this object

    def _refit(self) -> None:
        if self.rect is not None:
            self.view_box.setRange(self.rect, padding=0)

    def _moved(self, *_args) -> None:
        self.rect = None
