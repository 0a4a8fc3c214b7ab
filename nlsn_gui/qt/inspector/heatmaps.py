"""The query's two small heatmaps: the sparse attention beside dense non-local attention.

Each is the dimmed LR with the heatmap over it, the local window (dashed) and the query's marker;
the two views are linked, and a click on either picks a new query pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nlsn_gui.qt.compare.overlays import Marker, cosmetic_pen, rgba_image_item, set_rgba
from nlsn_gui.qt.inspector.fitting import KeptFit
from nlsn_gui.qt.inspector.widgets import small_maps
from nlsn_gui.tasks.inspect import QueryView


@dataclass
class HeatView:
    """One small heatmap view: dimmed LR, heatmap, local window, marker, caption."""

    title: pg.LabelItem
    vb: pg.ViewBox
    backdrop: pg.ImageItem
    heat: pg.ImageItem
    window: QGraphicsRectItem
    marker: Marker
    caption: QLabel


class HeatmapPair(QWidget):
    querySelected = Signal(int, int)  # (y, x) LR pixel clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.glw = small_maps(160)
        self.glw.scene().sigMouseClicked.connect(self._on_clicked)
        captions = QHBoxLayout()
        captions.setSpacing(8)
        self.sparse = self._view("Sparse (NLSA)", 0, captions)
        self.dense = self._view("Dense (full non-local)", 1, captions)
        self.dense.vb.setXLink(self.sparse.vb)
        self.dense.vb.setYLink(self.sparse.vb)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.glw)
        layout.addLayout(captions)
        self._size: tuple[int, int] | None = None  # (H, W) of the LR map
        self._fitted = False
        self.kept = KeptFit(self, self.sparse.vb, self.dense.vb)  # the whole map, until the user zooms or pans

    def _view(self, title: str, col: int, captions: QHBoxLayout) -> HeatView:
        label = self.glw.addLabel(title, row=0, col=col)
        vb = self.glw.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
        backdrop, heat = rgba_image_item(), rgba_image_item()
        heat.setZValue(10)
        vb.addItem(backdrop)
        vb.addItem(heat)
        window = QGraphicsRectItem()
        window.setPen(cosmetic_pen(QColor(120, 220, 255), 1.2, Qt.PenStyle.DashLine))
        window.setZValue(30)
        window.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        window.setToolTip("The local window: weight outside it counts as non-local")
        vb.addItem(window, ignoreBounds=True)
        window.hide()
        marker = Marker(vb)
        marker.hide()
        caption = QLabel("")
        caption.setWordWrap(True)
        caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        captions.addWidget(caption, 1)
        return HeatView(title=label, vb=vb, backdrop=backdrop, heat=heat, window=window, marker=marker, caption=caption)

    def views(self) -> tuple[HeatView, HeatView]:
        return (self.sparse, self.dense)

    def apply_theme(self, pal: QPalette) -> None:
        self.glw.setBackground(pal.color(QPalette.ColorRole.Window))
        for view in self.views():
            view.title.setText(view.title.text, color=pal.color(QPalette.ColorRole.WindowText))
            view.vb.setBorder(pg.mkPen(pal.color(QPalette.ColorRole.Mid), width=1))

    def set_backdrop(self, rgb: np.ndarray) -> None:
        """A new inspection: its dimmed LR behind both maps; the views fit it at the next query."""
        h, w = rgb.shape[:2]
        self._size, self._fitted = (h, w), False
        for view in self.views():
            set_rgba(view.backdrop, rgb, QRectF(0, 0, w, h))
        self.fit_height()

    def clear(self) -> None:
        self.glw.hide()
        for view in self.views():
            view.heat.clear()
            view.marker.hide()
            view.window.hide()
            view.caption.hide()

    def show_query(self, qv: QueryView) -> None:
        self.glw.show()
        h, w = qv.q.combined.shape
        rect = QRectF(0, 0, w, h)
        y0, y1, x0, x1 = qv.window
        if not self._fitted:
            self.fit_height()
            self.glw.ci.layout.activate()
            self.kept.fit(rect)
            self._fitted = True
        for view, rgba in ((self.sparse, qv.overlays["combined"]), (self.dense, qv.overlays["dense"])):
            set_rgba(view.heat, rgba, rect)
            view.window.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            view.window.show()
            view.marker.place(qv.x, qv.y, 1)
            view.caption.show()
        s, d = qv.sparse_stats, qv.dense_stats
        self.sparse.caption.setText(f"entropy {s.entropy:.2f} / {s.max_entropy:.2f} nats\n"
                                    f"non-local {s.nonlocal_share:.0%} · top {s.top_weight:.3g}")
        self.sparse.caption.setToolTip(f"Entropy of the combined sparse attention (nats); {s.max_entropy:.2f} "
                                       "would be uniform over all pixels")
        self.dense.caption.setText(f"entropy {d.entropy:.2f} / {d.max_entropy:.2f} nats\n"
                                   f"non-local {d.nonlocal_share:.0%} · {qv.coverage:.0%} on sparse keys")
        self.dense.caption.setToolTip("Share of the dense attention's weight that falls on pixels the sparse "
                                      "attention attended in at least one round")

    def fit_height(self) -> None:
        """Make the two views exactly as tall as the image needs at their width."""
        if self._size is None:
            return
        h, w = self._size
        spacing = self.glw.ci.layout.horizontalSpacing()
        cell_w = max((self.glw.width() - max(spacing, 0)) / 2.0, 40.0)
        title_h = max(self.sparse.title.height(), self.fontMetrics().height() + 6)
        height = min(max(int(math.ceil(cell_w * h / w + title_h + 6)), 80), 480)
        if abs(self.glw.height() - height) > 1:
            self.glw.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_height()
        self.kept.resized()

    def _on_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self._size is None:
            return
        for view in self.views():
            if view.vb.sceneBoundingRect().contains(ev.scenePos()):
                pt = view.vb.mapSceneToView(ev.scenePos())
                h, w = self._size
                if 0 <= pt.x() < w and 0 <= pt.y() < h:
                    self.querySelected.emit(math.floor(pt.y()), math.floor(pt.x()))
                return
