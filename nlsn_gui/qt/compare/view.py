"""Comparison view: LR / bicubic / NLSN / HR (and a difference map) side by side or as a swipe.

Every panel is a ``pg.ViewBox`` (aspect locked, y inverted so images are upright, no context menu)
holding a ``pg.ImageItem(axisOrder='row-major')``; all view boxes are linked in X and Y so zooming
or panning one moves them all. Coordinates everywhere are *output* pixels: the LR panel's image item
is stretched with ``setRect`` by its ``scale`` so it lines up with the super-resolved panels.

No image processing happens here beyond numpy slicing for display (the swipe crop). Other views
draw over the panels through ``CompareView.overlays`` (:class:`~nlsn_gui.qt.compare.overlays.Overlays`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from nlsn_gui.qt.compare import zoom
from nlsn_gui.qt.compare.cursor import cursor_info, hit_panel
from nlsn_gui.qt.compare.grid import PanelGrid
from nlsn_gui.qt.compare.items import (
    TITLE_GAP,
    ElidedLabel,
    Slot,
    canvas_extent,
    display_array,
    new_slot,
    set_slot_pixels,
    theme_colours,
)
from nlsn_gui.qt.compare.overlays import Overlays
from nlsn_gui.qt.compare.swipe import SwipeCell
from nlsn_gui.qt.compare.toolbar import CompareToolbar
from nlsn_gui.state.panels import CursorInfo, Panel, default_swipe_pair
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QImage, QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

DEFAULT_PLACEHOLDER = "Open an image (Ctrl+O), drop one here, or paste (Ctrl+V)"
ALL_HIDDEN_TEXT = "All panels are hidden — tick one in the bar above"


class CompareView(QWidget):
    """LR / bicubic / NLSN / HR side by side (or as a swipe) with synchronised zoom and pan."""

    cursorMoved = Signal(object)  # CursorInfo | None when the cursor leaves the images
    pixelClicked = Signal(str, float, float)  # panel key, x, y in output-pixel coordinates
    zoomChanged = Signal(float)  # zoom in percent (100 = one output pixel per screen pixel)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._slots: dict[str, Slot] = {}  # display order = insertion order
        self.overlays = Overlays()  # what other views draw over the panels: set(), set_marker(), clear()
        self._mode = "side"
        self._swipe_pair: tuple[str, str] | None = None
        self._fit_mode = True  # re-fit on resize until the user zooms or pans
        self._last_zoom: float | None = None
        self._cursor_none_sent = True
        self._placeholder_text = DEFAULT_PLACEHOLDER

        self.toolbar = CompareToolbar(self)
        self.toolbar.panelToggled.connect(lambda key, on: key in self._slots and self.set_panel_visible(key, on))
        self.toolbar.modeChosen.connect(self.set_mode)
        self.toolbar.swipePairChosen.connect(self.set_swipe_pair)
        self.toolbar.fitClicked.connect(self.zoom_fit)
        self.toolbar.zoomChosen.connect(self.set_zoom)
        self._build_graphics()
        self._readout = ElidedLabel(self)
        self._readout.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._readout.setMargin(4)
        self._readout.setFixedHeight(self._readout.fontMetrics().height() + 6)
        self._readout.setToolTip("Pixel values under the cursor")

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(2)
        root.addWidget(self.toolbar)
        root.addWidget(self._stack, 1)
        root.addWidget(self._readout)

        self._layout_timer = QTimer(self)  # debounced re-layout after resizes
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(40)
        self._layout_timer.timeout.connect(self._on_resized)
        self._zoom_timer = QTimer(self)  # coalesces range changes into one zoomChanged
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(0)
        self._zoom_timer.timeout.connect(self._emit_zoom)
        self._apply_theme()
        self._refresh_toolbar()
        self._show_placeholder_if_needed()

    def _build_graphics(self) -> None:
        self._stack = QStackedWidget(self)
        self._placeholder = QLabel(self._placeholder_text, self._stack)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setEnabled(False)  # greyed hint text
        self._stack.addWidget(self._placeholder)
        self._grid = PanelGrid(self._stack)
        self._glw = self._grid.widget
        self._stack.addWidget(self._glw)
        scene = self._glw.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._glw.installEventFilter(self)
        self._glw.viewport().installEventFilter(self)
        self._swipe = SwipeCell()
        self._swipe.vb.sigRangeChanged.connect(self._schedule_zoom)
        self._swipe.vb.sigRangeChangedManually.connect(self._on_manual_range)

    # ----------------------------------------------------------------- theme

    def _apply_theme(self) -> None:
        text, dim, border = theme_colours(self.palette())
        self._glw.setBackground(self.palette().color(QPalette.ColorRole.Window))
        for slot in self._slots.values():
            slot.title.set_colours(text, dim)
            slot.vb.setBorder(pg.mkPen(border, width=1))
        self._swipe.set_colours(text, dim, border, self.palette().color(QPalette.ColorRole.Highlight))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(self, "_swipe"):
            self._apply_theme()
        super().changeEvent(event)

    # ----------------------------------------------------------------- panels

    def set_placeholder(self, text: str) -> None:
        """Text shown when there are no panels."""
        self._placeholder_text = text
        self._show_placeholder_if_needed()

    def placeholder_text(self) -> str | None:
        """The hint shown instead of the panels, or None while panels are shown."""
        return self._placeholder.text() if self._stack.currentWidget() is self._placeholder else None

    def set_panels(self, panels: list[Panel], *, keep_view: bool = False) -> None:
        """Replace all panels; fits the view unless ``keep_view``. Panels whose key stays keep their
        view box, visibility and overlay."""
        keys = [p.key for p in panels]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate panel keys: {keys}")
        arrays = [display_array(p.pixels) for p in panels]  # validate before changing anything
        for p in panels:
            if int(p.scale) < 1:
                raise ValueError(f"panel {p.key!r}: scale must be >= 1, got {p.scale}")
        target = self._target_rect() if keep_view else None
        self._grid.clear()
        old, self._slots = self._slots, {}
        for p, arr in zip(panels, arrays):
            p.scale = int(p.scale)
            slot = old.pop(p.key, None)
            if slot is None:
                slot = self._new_slot(p, arr)
            else:
                slot.panel = p
            self._slots[p.key] = slot
            self._set_slot_pixels(slot, arr)
        for key, slot in old.items():  # keys that went away
            slot.vb.setXLink(None)
            slot.vb.setYLink(None)
            self.overlays.detach(key)
        if self._swipe_pair is None or not all(k in self._slots for k in self._swipe_pair):
            self._swipe_pair = default_swipe_pair(list(self._slots))
        self._refresh_toolbar()
        self._relayout(target=target, fit=not keep_view or target is None)

    def update_panel(self, key: str, pixels: np.ndarray, subtitle: str | None = None) -> None:
        """Replace one panel's pixels (and optionally its subtitle); the view is kept."""
        slot = self._slots[key]
        arr = display_array(pixels)
        old_size = slot.out_size
        slot.panel.pixels = pixels
        if subtitle is not None:
            slot.panel.subtitle = subtitle
        self._set_slot_pixels(slot, arr)
        if self._mode == "swipe" and self._swipe_pair and key in self._swipe_pair:
            self._show_swipe()
        if slot.out_size != old_size:
            self._relayout(target=self._target_rect(), fit=self._fit_mode)

    def remove_panel(self, key: str) -> None:
        slot = self._slots[key]
        target = self._target_rect()
        self._grid.clear()
        del self._slots[key]
        self.overlays.detach(key)
        slot.vb.setXLink(None)
        slot.vb.setYLink(None)
        if self._swipe_pair and key in self._swipe_pair:
            self._swipe_pair = default_swipe_pair(list(self._slots))
        self._refresh_toolbar()
        self._relayout(target=target, fit=self._fit_mode)

    def clear(self) -> None:
        """Remove every panel and show the placeholder."""
        self.set_panels([])

    def panel_title(self, key: str) -> str | None:
        slot = self._slots.get(key)
        return slot.panel.title if slot is not None else None

    def panel_subtitle(self, key: str) -> str | None:
        slot = self._slots.get(key)
        return slot.panel.subtitle if slot is not None else None

    def panel_keys(self) -> list[str]:
        return list(self._slots)

    def visible_keys(self) -> list[str]:
        return [k for k, s in self._slots.items() if s.visible]

    def set_panel_visible(self, key: str, visible: bool) -> None:
        slot = self._slots[key]
        if slot.visible == bool(visible):
            return
        target = self._target_rect()
        slot.visible = bool(visible)
        self.toolbar.set_checked(key, slot.visible)
        self._relayout(target=target, fit=self._fit_mode)

    def view_box(self, key: str) -> pg.ViewBox:
        """The panel's view box (its range is the shared view; draw over it through ``overlays``)."""
        return self._slots[key].vb

    def image_item(self, key: str) -> pg.ImageItem:
        """The panel's image item (side-by-side mode)."""
        return self._slots[key].item

    def _new_slot(self, panel: Panel, arr: np.ndarray) -> Slot:
        slot = new_slot(panel, arr, self.palette())
        slot.vb.sigRangeChanged.connect(self._schedule_zoom)
        slot.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.overlays.attach(panel.key, slot.vb)
        return slot

    def _set_slot_pixels(self, slot: Slot, arr: np.ndarray) -> None:
        set_slot_pixels(slot, arr)
        self.toolbar.set_title(slot.panel.key, slot.panel.title)

    def extent(self) -> tuple[int, int]:
        """(W, H) of the output-pixel canvas: the largest panel."""
        return canvas_extent(list(self._slots.values()))

    def _refresh_toolbar(self) -> None:
        self.toolbar.set_panels([(k, s.panel.title, s.visible) for k, s in self._slots.items()])
        if self._swipe_pair:
            self.toolbar.set_swipe_pair(*self._swipe_pair)
        self.toolbar.set_state(has_panels=bool(self._slots), swipe=self._mode == "swipe")

    # ----------------------------------------------------------------- mode / swipe

    def set_mode(self, mode: str) -> None:
        """'side' (side by side) or 'swipe'."""
        if mode not in ("side", "swipe"):
            raise ValueError(f"mode must be 'side' or 'swipe', got {mode!r}")
        if mode != self._mode:
            target = self._target_rect()
            self._grid.clear()
            self._mode = mode
            self._relayout(target=target, fit=self._fit_mode)
        self.toolbar.set_state(has_panels=bool(self._slots), swipe=self._mode == "swipe")

    def mode(self) -> str:
        return self._mode

    def swipe_pair(self) -> tuple[str, str] | None:
        return self._swipe_pair

    def set_swipe_pair(self, left: str, right: str) -> None:
        for k in (left, right):
            if k not in self._slots:
                raise KeyError(k)
        self._swipe_pair = (left, right)
        self.toolbar.set_swipe_pair(left, right)
        if self._mode == "swipe":
            self._show_swipe()

    def set_swipe_position(self, fraction: float) -> None:
        """Move the swipe line to ``fraction`` (0..1) of the image width."""
        self._swipe.set_position(fraction)

    def swipe_position(self) -> float:
        return self._swipe.fraction

    def _show_swipe(self) -> None:
        if self._swipe_pair:
            left, right = (self._slots[k] for k in self._swipe_pair)
            self._swipe.show(left, right, width=self.extent()[0])

    def swipe_right_item(self) -> pg.ImageItem:
        """The cropped right-hand image item of swipe mode."""
        return self._swipe.right

    def swipe_view_box(self) -> pg.ViewBox:
        return self._swipe.vb

    # ----------------------------------------------------------------- layout

    def _active_vb(self) -> pg.ViewBox | None:
        """The view box whose range is the view (the first shown), or None."""
        if not self._slots:
            return None
        if self._mode == "swipe":
            return self._swipe.vb if self._swipe_pair else None
        return next((s.vb for s in self._slots.values() if s.visible), None)

    def _target_rect(self) -> QRectF | None:
        vb = self._active_vb()
        return QRectF(vb.targetRect()) if vb is not None and self._grid.placed else None

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the current side-by-side grid ((1, 1) in swipe mode)."""
        return self._grid.shape

    def _title_height(self) -> float:
        return self._swipe.title_left.minimumHeight() + TITLE_GAP

    def _relayout(self, *, target: QRectF | None, fit: bool) -> None:
        """Put the visible cells in the grid, link them, and restore or fit the view."""
        self._grid.clear()
        if self._show_placeholder_if_needed():
            return
        if self._mode == "swipe":
            self._grid.place_one(self._swipe.cell)
            self._show_swipe()
        else:
            shown = [s for s in self._slots.values() if s.visible]
            hidden = [s for s in self._slots.values() if not s.visible]
            self._grid.place(shown, hidden, self._grid.choose(len(shown), self.extent(), self._title_height()))
        vb = self._active_vb()
        if fit or target is None:
            self.zoom_fit()
        elif vb is not None:
            vb.setRange(rect=target, padding=0)
        self._schedule_zoom()

    def _show_placeholder_if_needed(self) -> bool:
        """Show the hint page when there is nothing to draw; True if shown."""
        empty = not self._slots
        if empty or (self._mode == "side" and not any(s.visible for s in self._slots.values())):
            self._placeholder.setText(self._placeholder_text if empty else ALL_HIDDEN_TEXT)
            self._stack.setCurrentWidget(self._placeholder)
            self.toolbar.set_state(has_panels=not empty, swipe=self._mode == "swipe")
            self._readout.setText("")
            return True
        self._stack.setCurrentWidget(self._glw)
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._glw and event.type() == QEvent.Type.Resize:
            self._layout_timer.start()
        elif obj is self._glw.viewport() and event.type() == QEvent.Type.Leave:
            self._emit_cursor(None)
        return super().eventFilter(obj, event)

    def _on_resized(self) -> None:
        """Debounced: pick the grid again for the new size, keeping the view."""
        if not self._grid.placed:
            return
        n = len(self.visible_keys())
        if self._mode == "side" and self._grid.choose(n, self.extent(), self._title_height()) != self._grid.shape:
            self._relayout(target=self._target_rect(), fit=self._fit_mode)
        elif self._fit_mode:
            self.zoom_fit()

    # ----------------------------------------------------------------- zoom / range

    def zoom_fit(self) -> None:
        """Show the whole image in every panel."""
        self._fit_mode = True
        vb = self._active_vb()
        if vb is not None:
            zoom.fit(vb, self.extent())

    def zoom(self) -> float:
        """Screen pixels per output pixel x 100 (equals 100 / vb.viewPixelSize()[0])."""
        vb = self._active_vb()
        return 100.0 if vb is None else zoom.zoom_of(vb)

    def set_zoom(self, percent: float) -> None:
        """Zoom to ``percent`` around the current view centre."""
        vb = self._active_vb()
        if vb is None:
            return
        self._glw.ci.layout.activate()
        rect = zoom.zoom_rect(vb, percent)
        if rect is not None:
            self._fit_mode = False
            vb.setRange(rect=rect, padding=0)

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((x0, x1), (y0, y1)) of the first visible panel, in output pixels."""
        vb = self._active_vb()
        if vb is None:
            w, h = self.extent()
            return ((0.0, float(w)), (0.0, float(h)))
        (x0, x1), (y0, y1) = vb.viewRange()
        return ((float(x0), float(x1)), (float(y0), float(y1)))

    def set_view_range(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        vb = self._active_vb()
        if vb is not None:
            self._fit_mode = False
            vb.setRange(xRange=tuple(x), yRange=tuple(y), padding=0)

    def _on_manual_range(self, *_args: object) -> None:
        self._fit_mode = False  # the user zoomed or panned: stop re-fitting on resize

    def _schedule_zoom(self, *_args: object) -> None:
        self._zoom_timer.start()

    def _emit_zoom(self) -> None:
        if self._active_vb() is None:
            return
        z = self.zoom()
        self.toolbar.zoom_label.setText(zoom.zoom_text(z))
        if self._last_zoom is None or abs(z - self._last_zoom) > 1e-6 * max(z, 1.0):
            self._last_zoom = z
            self.zoomChanged.emit(z)

    # ----------------------------------------------------------------- cursor / clicks

    def cursor_info_at(self, x: float, y: float, key: str | None = None) -> CursorInfo | None:
        """Pixel values of the shown panels at output coordinates (x, y); None outside."""
        swipe = self._mode == "swipe" and self._swipe_pair
        keys = list(dict.fromkeys(self._swipe_pair)) if swipe else self.visible_keys()
        return cursor_info(self._slots, keys, x, y, extent=self.extent(), key=key)

    def _hit(self, scene_pos: QPointF) -> tuple[str, float, float] | None:
        if self._stack.currentWidget() is not self._glw or (self._mode == "swipe" and not self._swipe_pair):
            return None
        return hit_panel(self._slots, scene_pos, swipe=self._swipe if self._mode == "swipe" else None)

    def scene_pos_of(self, key: str, x: float, y: float) -> QPointF:
        """Scene position of output point (x, y) in a panel (swipe mode: the swipe view)."""
        vb = self._swipe.vb if self._mode == "swipe" else self._slots[key].vb
        return vb.mapViewToScene(QPointF(x, y))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self._hit(scene_pos)
        self._emit_cursor(self.cursor_info_at(hit[1], hit[2], hit[0]) if hit else None)

    def _emit_cursor(self, info: CursorInfo | None) -> None:
        if info is None:
            if self._cursor_none_sent:
                return  # only announce leaving once
            self._cursor_none_sent = True
            self._readout.setText("")
        else:
            self._cursor_none_sent = False
            self._readout.setText(info.text())
        self.cursorMoved.emit(info)

    def _on_mouse_clicked(self, ev) -> None:
        # pyqtgraph only produces click events for presses released without a drag.
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        hit = self._hit(ev.scenePos())
        if hit is not None:
            self.pixelClicked.emit(*hit)

    # ----------------------------------------------------------------- export

    def grab_image(self) -> QImage:
        """The panels and titles as rendered now (without the toolbar and readout)."""
        return self._stack.currentWidget().grab().toImage()

    def graphics_widget(self) -> pg.GraphicsLayoutWidget:
        return self._glw
