"""The graphics view's grid of panel cells: placing them, linking their views, the shape chosen."""

from __future__ import annotations

import pyqtgraph as pg
from nlsn_gui.qt.compare.items import Slot
from nlsn_gui.state.panels import choose_grid
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter

OUTER_MARGIN = 4.0  # around the whole grid (scene units == logical screen pixels)
CELL_SPACING = 6.0  # between grid cells


class PanelGrid:
    """Cells placed in a ``pg.GraphicsLayoutWidget``; a fresh layout each time, because a
    QGraphicsGridLayout keeps (and spaces) rows and columns once used, which leaves dead space."""

    def __init__(self, parent) -> None:
        self.widget = pg.GraphicsLayoutWidget(parent)
        self.widget.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour
        self.widget.setAcceptDrops(False)  # let drops reach the main window
        self.widget.viewport().setAcceptDrops(False)
        self.placed: list[pg.GraphicsLayout] = []
        self.shape: tuple[int, int] = (0, 0)
        self._new_layout()

    def _new_layout(self) -> pg.GraphicsLayout:
        layout = pg.GraphicsLayout()
        layout.layout.setContentsMargins(OUTER_MARGIN, OUTER_MARGIN, OUTER_MARGIN, OUTER_MARGIN)
        layout.layout.setSpacing(CELL_SPACING)
        self.widget.setCentralItem(layout)
        self.widget.ci = layout
        return layout

    def clear(self) -> None:
        for cell in self.placed:
            self.widget.ci.removeItem(cell)
        self.placed, self.shape = [], (0, 0)

    def choose(self, n: int, extent: tuple[int, int], title_h: float) -> tuple[int, int]:
        """(rows, cols) that show ``n`` panels of ``extent`` largest in the viewport now."""
        vp = self.widget.viewport().size()
        return choose_grid(n, vp.width() - 2 * OUTER_MARGIN, vp.height() - 2 * OUTER_MARGIN, *extent,
                           title_h=title_h, spacing=CELL_SPACING)

    def place_one(self, cell: pg.GraphicsLayout) -> None:
        layout = self._new_layout()
        layout.addItem(cell, row=0, col=0)
        self.placed, self.shape = [cell], (1, 1)
        layout.layout.setRowStretchFactor(0, 1)
        layout.layout.setColumnStretchFactor(0, 1)
        self._activate()

    def place(self, slots: list[Slot], hidden: list[Slot], shape: tuple[int, int]) -> None:
        """Cells of ``slots`` row by row in ``shape``, every view linked to the first one's
        (pyqtgraph's links are star-shaped); ``hidden`` slots are unlinked."""
        layout = self._new_layout()
        rows, cols = shape
        for i, slot in enumerate(slots):
            layout.addItem(slot.cell, row=i // cols, col=i % cols)
            self.placed.append(slot.cell)
        for r in range(rows):
            layout.layout.setRowStretchFactor(r, 1)
        for c in range(cols):
            layout.layout.setColumnStretchFactor(c, 1)
        self.shape = shape
        master = slots[0].vb
        master.setXLink(None)
        master.setYLink(None)
        for slot in slots[1:]:
            slot.vb.setXLink(master)
            slot.vb.setYLink(master)
        for slot in hidden:
            slot.vb.setXLink(None)
            slot.vb.setYLink(None)
        self._activate()

    def _activate(self) -> None:
        # Emptying the grid lets Qt shrink the (top-level) layout item to its size constraints;
        # give it the whole view back before laying out.
        self.widget.ci.setGeometry(QRectF(self.widget.viewport().rect()))
        self.widget.ci.layout.activate()
        for cell in self.placed:
            cell.layout.activate()
