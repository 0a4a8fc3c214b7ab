"""What other views draw over the compare panels, through the view's API: an RGBA overlay on chosen
panels and a marker on every panel (the inspector's buckets, heatmaps and query pixel)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem

OVERLAY_Z = 20


def cosmetic_pen(colour: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    """A pen whose width is in screen pixels whatever the zoom."""
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


def rgba_image_item() -> pg.ImageItem:
    """An image item for ready RGBA pixels: nearest neighbour, exact blocks, no mouse."""
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
    return item


def set_rgba(item: pg.ImageItem, rgba: np.ndarray, rect: QRectF) -> None:
    """Show a (h, w, 3|4) uint8 image as it is, stretched over ``rect`` (nearest neighbour)."""
    item.setImage(rgba, autoLevels=False, levels=(0, 255), lut=None)
    item.setRect(rect)


class Marker:
    """A pixel's marker in one view box: its square and a crosshair of screen-sized ticks around it,
    white over a dark halo so it reads on any image."""

    def __init__(self, vb: pg.ViewBox) -> None:
        self.vb = vb
        path = QPainterPath()
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            path.moveTo(QPointF(6 * dx, 6 * dy))
            path.lineTo(QPointF(13 * dx, 13 * dy))
        self.items: list[QGraphicsItem] = []
        for width, colour in ((4.0, QColor(0, 0, 0, 200)), (1.6, QColor(255, 255, 255))):
            cross = QGraphicsPathItem(path)
            cross.setPen(cosmetic_pen(colour, width))
            cross.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            square = QGraphicsRectItem()
            square.setPen(cosmetic_pen(colour, width * 0.75))
            self.items += [cross, square]
        for z, item in enumerate(self.items):
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.setZValue(40 + z)
            vb.addItem(item, ignoreBounds=True)

    def place(self, x0: float, y0: float, size: float) -> None:
        for item in self.items:
            if isinstance(item, QGraphicsRectItem):
                item.setRect(QRectF(x0, y0, size, size))
            else:
                item.setPos(QPointF(x0 + size / 2, y0 + size / 2))
            item.show()

    def hide(self) -> None:
        for item in self.items:
            item.hide()

    def remove(self) -> None:
        for item in self.items:
            self.vb.removeItem(item)


@dataclass
class OverlayState:
    """What is drawn over the panels; the view re-applies it to every panel it (re)creates."""

    rgba: np.ndarray | None = None  # (h, w, 4) uint8 in some grid of pixels
    scale: int = 1  # output pixels per overlay pixel
    keys: tuple[str, ...] = ()  # panels that get the overlay
    opacity: float = 1.0
    marker: tuple[float, float, float] | None = None  # (x0, y0, size) in output pixels, on every panel
    drawn: bool = False  # someone draws over the panels (items exist, shown or hidden)


class PanelOverlay:
    """The overlay item and marker of one panel's view box."""

    def __init__(self, vb: pg.ViewBox) -> None:
        self.vb = vb
        self.image = rgba_image_item()
        self.image.setZValue(OVERLAY_Z)
        self.image.hide()
        vb.addItem(self.image, ignoreBounds=True)
        self.marker = Marker(vb)
        self.marker.hide()

    def apply(self, key: str, state: OverlayState) -> None:
        if state.rgba is None or key not in state.keys:
            self.image.hide()
        else:
            h, w = state.rgba.shape[:2]
            set_rgba(self.image, state.rgba, QRectF(0, 0, w * state.scale, h * state.scale))
            self.image.setOpacity(state.opacity)
            self.image.show()
        if state.marker is None:
            self.marker.hide()
        else:
            self.marker.place(*state.marker)

    def remove(self) -> None:
        self.vb.removeItem(self.image)
        self.marker.remove()


class Overlays:
    """The overlay and marker of every panel: one state, applied to each panel's view box. Items
    exist while someone draws (:meth:`set`, :meth:`set_marker`); :meth:`clear` takes them out again."""

    def __init__(self) -> None:
        self.state = OverlayState()
        self.boxes: dict[str, pg.ViewBox] = {}  # panel key -> its view box
        self.panels: dict[str, PanelOverlay] = {}  # panel key -> its items, while drawn

    def attach(self, key: str, vb: pg.ViewBox) -> None:
        """A panel's view box (the view calls this and :meth:`detach` as panels come and go)."""
        self.boxes[key] = vb
        self.apply()

    def detach(self, key: str) -> None:
        self.boxes.pop(key, None)
        self.panels.pop(key, None)

    def apply(self) -> None:
        if not self.state.drawn:
            for overlay in self.panels.values():
                overlay.remove()
            self.panels.clear()
            return
        for key, vb in self.boxes.items():
            overlay = self.panels.get(key)
            if overlay is None or overlay.vb is not vb:
                overlay = self.panels[key] = PanelOverlay(vb)
            overlay.apply(key, self.state)

    def set(self, rgba: np.ndarray | None, *, keys: tuple[str, ...] = (), scale: int = 1,
            opacity: float | None = None) -> None:
        """Draw (h, w, 4) uint8 ``rgba`` over the panels ``keys``, ``scale`` output pixels per pixel
        (None: no image, the marker alone). It stays across ``set_panels`` for the keys that stay."""
        self.state.rgba, self.state.keys, self.state.scale, self.state.drawn = rgba, tuple(keys), int(scale), True
        if opacity is not None:
            self.state.opacity = float(opacity)
        self.apply()

    def set_marker(self, x0: float, y0: float, size: float) -> None:
        """Mark the square [x0, x0 + size) x [y0, y0 + size) (output pixels) on every panel."""
        self.state.marker, self.state.drawn = (float(x0), float(y0), float(size)), True
        self.apply()

    def clear_marker(self) -> None:
        self.state.marker = None
        self.apply()

    def set_opacity(self, opacity: float) -> None:
        self.state.opacity = float(opacity)
        for overlay in self.panels.values():
            overlay.image.setOpacity(self.state.opacity)

    def clear(self) -> None:
        """Nothing drawn: the items leave the view boxes."""
        self.state = OverlayState(opacity=self.state.opacity)
        self.apply()

    def item(self, key: str) -> pg.ImageItem | None:
        """The overlay image on panel ``key`` while it is shown there (None otherwise)."""
        overlay = self.panels.get(key)
        return overlay.image if overlay is not None and overlay.image.isVisible() else None

    def marker(self, key: str) -> Marker | None:
        overlay = self.panels.get(key)
        return overlay.marker if overlay is not None else None
