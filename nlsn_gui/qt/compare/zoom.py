"""Zoom of a view box in percent: 100 % shows one output pixel per screen pixel."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF

MIN_ZOOM, MAX_ZOOM = 1.0, 25600.0  # percent, for set_zoom
FIT_PADDING = 0.01  # fraction of the image added around it by a fit


def fit(vb: pg.ViewBox, extent: tuple[int, int]) -> None:
    """Show the whole ``extent`` (W, H output pixels)."""
    w, h = extent
    vb.setRange(rect=QRectF(0, 0, w, h), padding=FIT_PADDING)


def zoom_of(vb: pg.ViewBox) -> float:
    """Screen pixels per output pixel x 100 (equals 100 / vb.viewPixelSize()[0])."""
    (x0, x1), _ = vb.viewRange()
    return vb.width() / (x1 - x0) * 100.0 if x1 > x0 and vb.width() > 0 else 100.0


def zoom_rect(vb: pg.ViewBox, percent: float) -> QRectF | None:
    """The range that shows ``percent`` (clamped) around the current centre; None before layout."""
    percent = min(max(float(percent), MIN_ZOOM), MAX_ZOOM)
    w_px, h_px = vb.width(), vb.height()
    if w_px <= 0 or h_px <= 0:
        return None
    centre = vb.viewRect().center()
    w, h = w_px * 100.0 / percent, h_px * 100.0 / percent
    return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)


def zoom_text(percent: float) -> str:
    return f"{percent:.0f}%" if percent >= 10 else f"{percent:.1f}%"
