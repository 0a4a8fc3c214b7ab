"""The graphics pieces of the compare view: titles, view boxes, image items, cells, display levels.

Rendering is nearest neighbour: ``ImageItem.paint`` draws its QImage through the painter's
transform and the graphics view never enables ``SmoothPixmapTransform``, so at high zoom every
image pixel is an exact block of screen pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from nlsn_gui.state.panels import Panel
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

TITLE_GAP = 2.0  # between a title and its view box


def display_array(pixels: np.ndarray) -> np.ndarray:
    """Validate panel pixels and return the array to display: (h, w), (h, w, 3) or (h, w, 4)."""
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]  # (h, w, 1) -> (h, w)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"panel pixels must be (h, w), (h, w, 3) or (h, w, 4), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"panel pixels are empty: {arr.shape}")
    return arr


def display_opts(arr: np.ndarray, colour_map: str | None) -> dict:
    """ImageItem levels / lookup table for an array."""
    if arr.ndim == 2 and (colour_map is not None or arr.dtype.kind == "f"):
        # Scalar map (the |SR - HR| difference): levels 0..max, optional colour map.
        finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
        top = float(finite.max()) if finite.size else 0.0
        lut = pg.colormap.get(colour_map).getLookupTable(0.0, 1.0, 256) if colour_map else None
        return {"levels": (0.0, max(top, 1e-6)), "lut": lut}
    if arr.dtype == np.uint8:
        return {"levels": (0, 255), "lut": None}
    if arr.dtype.kind == "f":  # float RGB(A): 0..1 or 0..255
        top = float(np.nanmax(arr)) if arr.size else 1.0
        return {"levels": (0.0, 1.0 if top <= 1.0 else 255.0), "lut": None}
    return {"levels": (0, float(np.iinfo(arr.dtype).max)), "lut": None}


def pixel_value(arr: np.ndarray, px: int, py: int) -> tuple:
    v = arr[py, px]
    if arr.dtype.kind == "f":
        return tuple(float(c) for c in np.atleast_1d(v))
    return tuple(int(c) for c in np.atleast_1d(v))


# --------------------------------------------------------------------------- graphics items


class TitleItem(pg.GraphicsWidget):
    """A one-line title (bold) + subtitle (dimmer), elided to the cell width.

    Unlike ``pg.LabelItem`` it never forces a minimum width on the grid, so all cells
    stay the same size (which keeps the linked views aligned).
    """

    def __init__(self, justify: str = "centre") -> None:
        super().__init__()
        self._title = ""
        self._subtitle = ""
        self._justify = justify
        self._text_color = QColor("white")
        self._dim_color = QColor("gray")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self._update_height()

    def _update_height(self) -> None:
        f = QFont(self.font())
        h = float(QFontMetricsF(f).height()) + 4.0
        self.setMinimumHeight(h)
        self.setMaximumHeight(h)
        self.setPreferredHeight(h)

    def set_text(self, title: str, subtitle: str = "") -> None:
        self._title, self._subtitle = title, subtitle
        self.update()

    def text(self) -> str:
        return f"{self._title}  {self._subtitle}".strip()

    def set_colours(self, text: QColor, dim: QColor) -> None:
        self._text_color, self._dim_color = QColor(text), QColor(dim)
        self.update()

    def paint(self, p: QPainter, *args: object) -> None:
        rect = self.rect()
        bold = QFont(self.font())
        bold.setBold(True)
        normal = QFont(self.font())
        fm_b, fm_n = QFontMetricsF(bold), QFontMetricsF(normal)
        gap = fm_n.horizontalAdvance("  ") if self._subtitle else 0.0
        avail = max(rect.width() - 4.0, 0.0)
        title_w = fm_b.horizontalAdvance(self._title)
        title = self._title
        if title_w > avail:  # not even the title fits: elide it, drop the subtitle
            title = fm_b.elidedText(title, Qt.TextElideMode.ElideRight, avail)
            title_w, sub, sub_w = fm_b.horizontalAdvance(title), "", 0.0
        else:
            sub = fm_n.elidedText(self._subtitle, Qt.TextElideMode.ElideRight, max(avail - title_w - gap, 0.0))
            if sub in ("", "…"):
                sub = ""
            sub_w = fm_n.horizontalAdvance(sub)
        total = title_w + (gap + sub_w if sub else 0.0)
        if self._justify == "left":
            x = rect.left() + 2.0
        elif self._justify == "right":
            x = rect.right() - 2.0 - total
        else:
            x = rect.center().x() - total / 2.0
        baseline = rect.center().y() + (fm_b.ascent() - fm_b.descent()) / 2.0
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        p.setFont(bold)
        p.setPen(self._text_color)
        p.drawText(QPointF(x, baseline), title)
        if sub:
            p.setFont(normal)
            p.setPen(self._dim_color)
            p.drawText(QPointF(x + title_w + gap, baseline), sub)


def make_view_box() -> pg.ViewBox:
    vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
    vb.disableAutoRange()  # we set ranges explicitly; overlays must not re-range the view
    return vb


def make_image_item() -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)  # keep nearest-neighbour pixel blocks exact
    return item


def make_cell(title: TitleItem | tuple[TitleItem, TitleItem], vb: pg.ViewBox) -> pg.GraphicsLayout:
    """A grid cell: title row on top of the view box."""
    cell = pg.GraphicsLayout()
    cell.layout.setContentsMargins(0, 0, 0, 0)
    cell.layout.setSpacing(TITLE_GAP)
    if isinstance(title, tuple):  # swipe: left and right titles meeting in the middle
        cell.addItem(title[0], row=0, col=0)
        cell.addItem(title[1], row=0, col=1)
        cell.addItem(vb, row=1, col=0, colspan=2)
        cell.layout.setColumnStretchFactor(0, 1)
        cell.layout.setColumnStretchFactor(1, 1)
        cell.layout.setHorizontalSpacing(24)
    else:
        cell.addItem(title, row=0, col=0)
        cell.addItem(vb, row=1, col=0)
    cell.layout.setRowStretchFactor(0, 0)
    cell.layout.setRowStretchFactor(1, 1)
    return cell


class ElidedLabel(QLabel):
    """A QLabel that elides its text on the right instead of growing the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), 0, -self.margin(), 0)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        p.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


@dataclass(eq=False)
class Slot:
    """Everything the view holds for one panel."""

    panel: Panel
    data: np.ndarray  # (h, w) / (h, w, 3) / (h, w, 4), what is displayed
    opts: dict  # ImageItem levels / lut
    vb: pg.ViewBox
    item: pg.ImageItem
    title: TitleItem
    cell: pg.GraphicsLayout
    visible: bool = True

    @property
    def out_size(self) -> tuple[int, int]:
        """(w, h) in output pixels."""
        h, w = self.data.shape[:2]
        return (w * self.panel.scale, h * self.panel.scale)


def theme_colours(pal: QPalette) -> tuple[QColor, QColor, QColor]:
    """(title text, subtitle text, panel border) from the palette (dark or light theme)."""
    text = pal.color(QPalette.ColorRole.WindowText)
    dim = pal.color(QPalette.ColorRole.PlaceholderText)
    if dim == text or dim.alpha() == 0:
        dim = QColor(text)
        dim.setAlpha(170)
    return text, dim, pal.color(QPalette.ColorRole.Mid)


def new_slot(panel: Panel, arr: np.ndarray, pal: QPalette) -> Slot:
    """A panel's view box, image item, title and cell, in the palette's colours."""
    vb = make_view_box()
    item = make_image_item()
    vb.addItem(item)
    title = TitleItem()
    text, dim, border = theme_colours(pal)
    title.set_colours(text, dim)
    vb.setBorder(pg.mkPen(border, width=1))
    return Slot(panel=panel, data=arr, opts={}, vb=vb, item=item, title=title, cell=make_cell(title, vb))


def set_slot_pixels(slot: Slot, arr: np.ndarray) -> None:
    slot.data = arr
    slot.opts = display_opts(arr, slot.panel.colour_map)
    slot.title.set_text(slot.panel.title, slot.panel.subtitle)
    s = slot.panel.scale
    h, w = arr.shape[:2]
    slot.item.setImage(arr, autoLevels=False, **slot.opts)
    slot.item.setRect(QRectF(0, 0, w * s, h * s))  # LR: stretched into output coordinates


def canvas_extent(slots: list[Slot]) -> tuple[int, int]:
    """(W, H) of the output-pixel canvas: the largest panel."""
    if not slots:
        return (1, 1)
    sizes = [s.out_size for s in slots]
    return (max(w for w, _ in sizes), max(h for _, h in sizes))
