"""The legend under the inspector's maps: bucket sizes (bars on a log axis), the heat colour bar,
or the colour of a mask, whichever explains the overlay shown."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from nlsn_gui.qt.inspector.widgets import section_title
from nlsn_gui.tasks.inspect import ATTENDED_COLOUR, SHARED_COLOUR, ModuleView, QueryView


class ColourBar(QWidget):
    """A colour bar (a (1, N, 4) uint8 ramp) with the values of its two ends under it."""

    def __init__(self, parent: QWidget | None = None, *, low: str = "", high: str = "") -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        self.image = QLabel()
        self.image.setFixedHeight(14)
        self.image.setScaledContents(True)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.low, self.high = QLabel(low), QLabel(high)
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.image, 0, 0, 1, 2)
        grid.addWidget(self.low, 1, 0)
        grid.addWidget(self.high, 1, 1)

    def show_bar(self, rgba: np.ndarray, *, low: str | None = None, high: str | None = None) -> None:
        ramp = np.ascontiguousarray(rgba)
        qimage = QImage(ramp.data, ramp.shape[1], ramp.shape[0], ramp.strides[0], QImage.Format.Format_RGBA8888)
        self.image.setPixmap(QPixmap.fromImage(qimage.copy()))
        if low is not None:
            self.low.setText(low)
        if high is not None:
            self.high.setText(high)


class Legend(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.title = section_title("Legend")
        layout.addWidget(self.title)
        self.stack = QStackedWidget()
        self.stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.stack)
        self._build_bars()
        self._build_colour_bar()
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.stack.addWidget(self.text)

    def _build_bars(self) -> None:
        self.bar_plot = pg.PlotWidget()
        self.bar_plot.setFixedHeight(120)
        self.bar_plot.setMenuEnabled(False)
        self.bar_plot.setMouseEnabled(x=False, y=False)
        self.bar_plot.hideButtons()
        self.bar_plot.setLabel("bottom", "bucket (pixels on a log axis)")
        self.bar_plot.getAxis("left").setWidth(40)
        self.bar_plot.getPlotItem().layout.setContentsMargins(0, 2, 4, 0)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.85)
        self.bar_highlight = pg.BarGraphItem(x=[0], height=[0], width=0.85)
        self.bar_highlight.setZValue(5)
        self.chunk_line = pg.InfiniteLine(angle=0, movable=False, label="chunk",
                                          labelOpts={"position": 0.92, "anchors": [(1, 1), (1, 1)]})
        self.query_line = pg.InfiniteLine(angle=90, movable=False)
        for item in (self.bars, self.bar_highlight, self.chunk_line, self.query_line):
            self.bar_plot.addItem(item)
        self.bars_page = QWidget()
        page = QVBoxLayout(self.bars_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(2)
        page.addWidget(self.bar_plot)
        self.bar_summary = QLabel("")
        self.bar_summary.setWordWrap(True)
        page.addWidget(self.bar_summary)
        self.stack.addWidget(self.bars_page)

    def _build_colour_bar(self) -> None:
        self.colour_bar = ColourBar()
        self.stack.addWidget(self.colour_bar)

    def apply_theme(self, pal: QPalette) -> None:
        base, text = pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.WindowText)
        self.bar_plot.setBackground(base)
        for axis in ("left", "bottom"):
            ax = self.bar_plot.getAxis(axis)
            ax.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
            ax.setTextPen(pg.mkPen(text))
        self.chunk_line.setPen(pg.mkPen(text, width=1, style=Qt.PenStyle.DashLine))
        self.chunk_line.label.setColor(text)
        self.query_line.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Highlight), width=1, style=Qt.PenStyle.DotLine))

    def show(self, view: ModuleView, kind: str, key: str) -> None:
        """``kind``: "bars", "colour bar", "lam" or "mask" (of overlay ``key``)."""
        if kind == "bars":
            self.title.setText(f"Bucket sizes (module {view.module + 1}, round {view.round + 1})")
            self.stack.setCurrentWidget(self.bars_page)
            self._show_bars(view)
        elif kind == "colour bar":
            self._show_colour_bar(view.query)
        elif kind == "lam":
            self.title.setText("Legend")
            self.text.setText("The attribution (LAM) of the inspected model over the LR: its colour bar is "
                              "under the attribution maps below (nothing shows until Attribute has run)")
            self.stack.setCurrentWidget(self.text)
        else:
            row = view.query.rows[view.round]
            if key == "shared":
                colour, text = SHARED_COLOUR, f"pixels in the query's bucket {row.bucket}: {row.size:,}"
            else:
                colour, text = ATTENDED_COLOUR, (f"the query's keys (its own and the two adjacent chunks of "
                                                 f"{view.chunk}): {row.attended:,} pixels")
            self.title.setText(f"Legend (round {view.round + 1})")
            swatch = "#%02x%02x%02x" % colour
            self.text.setText(f'<span style="color:{swatch}; font-size:large">■</span> {text}')
            self.stack.setCurrentWidget(self.text)
        page = self.stack.currentWidget()
        if page.layout() is not None:
            page.layout().activate()
        self.stack.setFixedHeight(page.heightForWidth(self.stack.width()) if page.hasHeightForWidth()
                                  else page.sizeHint().height())

    def _show_colour_bar(self, qv: QueryView) -> None:
        self.title.setText("Attention weight (log scale)")
        self.title.setToolTip("One scale for every attention map of this query: sparse per round, combined and dense")
        self.colour_bar.show_bar(qv.legend, low=f"≤ {qv.vmax * 1e-3:.2g}", high=f"{qv.vmax:.3g}")
        self.stack.setCurrentWidget(self.colour_bar)

    def _show_bars(self, view: ModuleView) -> None:
        brushes = [pg.mkBrush(*map(int, c)) for c in view.palette]
        self.bars.setOpts(x=np.arange(view.buckets), height=view.bar_heights, width=0.85, brushes=brushes,
                          pen=pg.mkPen(None))
        self.bar_plot.getAxis("left").setTicks([view.bar_ticks, []])
        qv = view.query
        if qv is not None:
            b = qv.rows[view.round].bucket
            outline = pg.mkPen(self.palette().color(QPalette.ColorRole.WindowText), width=2)
            self.bar_highlight.setOpts(x=[b], height=[view.bar_heights[b]], width=0.85, brushes=[brushes[b]],
                                       pen=outline)
            self.bar_highlight.show()
            self.query_line.setValue(b)
            self.query_line.show()
        else:
            self.bar_highlight.hide()
            self.query_line.hide()
        sm = view.size_summary
        text = (f"Largest: bucket {sm.largest_id}, {sm.largest:,} px ({sm.largest / max(view.sizes.sum(), 1):.0%})"
                f" · median {sm.median:g} px")
        if sm.buckets > 1:
            text += f" · {sm.over_chunk} of {sm.buckets} larger than a chunk ({view.chunk})"
            text += f" · {sm.empty} empty" if sm.empty else ""
        if qv is not None:
            text += f" · query: bucket {qv.rows[view.round].bucket} (line)"
        self.bar_summary.setText(text)
        self.chunk_line.setValue(view.chunk_height)
        self.chunk_line.label.setFormat(f"chunk {view.chunk}")
        self.chunk_line.setVisible(view.buckets > 1)
        self.bar_plot.setXRange(-0.6, view.buckets - 0.4, padding=0)
        top = max(float(view.bar_heights.max()), view.chunk_height if view.buckets > 1 else 0.0)
        self.bar_plot.setYRange(0, top * 1.05, padding=0)
