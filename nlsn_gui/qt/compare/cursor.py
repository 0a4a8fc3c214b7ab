"""Which panel and output pixel lie under a scene point, and the values every shown panel has there."""

from __future__ import annotations

import math

from nlsn_gui.qt.compare.items import Slot, pixel_value
from nlsn_gui.qt.compare.swipe import SwipeCell
from nlsn_gui.state.panels import CursorInfo, short_title
from PySide6.QtCore import QPointF


def hit_panel(slots: dict[str, Slot], scene_pos: QPointF, *, swipe: SwipeCell | None) -> tuple[str, float, float] | None:
    """(panel key, x, y) in output pixels for a scene point over an image, else None.

    ``swipe``: the swipe cell when it is what is shown."""
    if swipe is not None:
        if not swipe.vb.sceneBoundingRect().contains(scene_pos):
            return None
        pt = swipe.vb.mapSceneToView(scene_pos)
        key = swipe.key_at(pt.x())
        if key is None:
            return None
        w, h = slots[key].out_size
        return (key, float(pt.x()), float(pt.y())) if 0 <= pt.x() < w and 0 <= pt.y() < h else None
    for key, slot in slots.items():
        if not slot.visible or not slot.vb.sceneBoundingRect().contains(scene_pos):
            continue
        pt = slot.vb.mapSceneToView(scene_pos)
        w, h = slot.out_size
        return (key, float(pt.x()), float(pt.y())) if 0 <= pt.x() < w and 0 <= pt.y() < h else None
    return None


def cursor_info(slots: dict[str, Slot], keys: list[str], x: float, y: float, *,
                extent: tuple[int, int], key: str | None = None) -> CursorInfo | None:
    """Pixel values of the panels ``keys`` at output coordinates (x, y); None outside the canvas."""
    ix, iy = math.floor(x), math.floor(y)
    width, height = extent
    if not slots or not (0 <= ix < width and 0 <= iy < height):
        return None
    info = CursorInfo(x=ix, y=iy, values={}, key=key)
    for k in keys:
        slot = slots[k]
        px, py = ix // slot.panel.scale, iy // slot.panel.scale  # the panel's own pixel
        h, w = slot.data.shape[:2]
        if 0 <= px < w and 0 <= py < h:
            info.values[k] = pixel_value(slot.data, px, py)
            info.titles[k] = short_title(slot.panel.title)
            info.coords[k] = (px, py)
    return info if info.values else None
