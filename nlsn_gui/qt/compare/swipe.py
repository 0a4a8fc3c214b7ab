"""Swipe mode: two panels in one view box, the right one shown only at and right of a draggable line."""

from __future__ import annotations

import pyqtgraph as pg
from nlsn_gui.qt.compare.items import (
    Slot,
    TitleItem,
    make_cell,
    make_image_item,
    make_view_box,
)
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor


class SwipeCell:
    """The swipe view box with its two images, the divider (a light line over a dark halo) and titles."""

    def __init__(self) -> None:
        self.vb = make_view_box()
        self.left = make_image_item()
        self.right = make_image_item()
        self.vb.addItem(self.left)
        self.vb.addItem(self.right)
        self.line = pg.InfiniteLine(pos=0, angle=90, movable=True)
        self.line.setZValue(10)
        self.line.sigPositionChanged.connect(self._on_line_moved)
        self.vb.addItem(self.line, ignoreBounds=True)
        self.halo = pg.InfiniteLine(pos=0, angle=90, movable=False)  # follows the line
        self.halo.setZValue(9)
        self.halo.setAcceptHoverEvents(False)
        self.halo.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.vb.addItem(self.halo, ignoreBounds=True)
        self.title_left = TitleItem("right")  # ends at the middle
        self.title_right = TitleItem("left")  # starts at the middle
        self.cell = make_cell((self.title_left, self.title_right), self.vb)
        self.fraction = 0.5  # of the canvas width
        self._width = 1
        self._slots: tuple[Slot, Slot] | None = None

    def set_colours(self, text: QColor, dim: QColor, border: QColor, highlight: QColor) -> None:
        for title in (self.title_left, self.title_right):
            title.set_colours(text, dim)
        self.vb.setBorder(pg.mkPen(border, width=1))
        # The divider must stand out on any image: light over a dark halo, the accent when hovered.
        self.line.setPen(pg.mkPen(QColor(255, 255, 255, 230), width=2))
        self.line.setHoverPen(pg.mkPen(highlight, width=3))
        self.halo.setPen(pg.mkPen(QColor(0, 0, 0, 140), width=4))

    def show(self, left: Slot, right: Slot, *, width: int) -> None:
        """Show ``left`` whole and ``right`` right of the line, on a canvas ``width`` output pixels wide."""
        self._slots, self._width = (left, right), max(int(width), 1)
        s = left.panel.scale
        h, w = left.data.shape[:2]
        self.left.setImage(left.data, autoLevels=False, **left.opts)
        self.left.setRect(QRectF(0, 0, w * s, h * s))
        self.title_left.set_text("◀ " + left.panel.title, left.panel.subtitle)
        self.title_right.set_text(right.panel.title + " ▶", right.panel.subtitle)
        self.line.setBounds((0, self._width))
        self.line.blockSignals(True)
        self.line.setValue(self.fraction * self._width)
        self.line.blockSignals(False)
        self._update_right()

    def set_position(self, fraction: float) -> None:
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.line.setValue(self.fraction * self._width)  # -> _on_line_moved

    def key_at(self, x: float) -> str | None:
        """The panel shown at output column ``x``."""
        if self._slots is None:
            return None
        return self._slots[0].panel.key if x < self.line.value() else self._slots[1].panel.key

    def _on_line_moved(self, *_args) -> None:
        self.fraction = min(max(float(self.line.value()) / self._width, 0.0), 1.0)
        self._update_right()

    def _update_right(self) -> None:
        """Crop the right image's columns at the line (a view, no copy)."""
        self.halo.setValue(self.line.value())
        if self._slots is None:
            return
        right = self._slots[1]
        s = right.panel.scale
        h, w = right.data.shape[:2]
        c0 = min(max(int(round(float(self.line.value()) / s)), 0), w)  # first shown column, panel pixels
        if c0 >= w:
            self.right.hide()
            return
        self.right.setImage(right.data[:, c0:], autoLevels=False, **right.opts)
        self.right.setRect(QRectF(c0 * s, 0, (w - c0) * s, h * s))
        self.right.show()
