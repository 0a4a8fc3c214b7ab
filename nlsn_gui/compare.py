"""Comparison view: LR / bicubic / NLSN / HR (and a difference map) side by side or as a swipe.

``CompareView`` is a self-contained QWidget built on pyqtgraph.  Every panel is a
``pg.ViewBox`` (aspect locked, y inverted so images are upright, no context menu)
holding a ``pg.ImageItem(axisOrder='row-major')``; all view boxes are linked in X
and Y so zooming or panning one moves them all.  Coordinates everywhere are
*output* pixels: the LR panel's image item is stretched with ``setRect`` by its
``scale`` so it lines up with the super-resolved panels.

Rendering is nearest neighbour: ``ImageItem.paint`` draws its QImage through the
painter's transform and the graphics view never enables
``QPainter.RenderHint.SmoothPixmapTransform`` (we clear it explicitly), so at high
zoom every image pixel is an exact block of screen pixels.

No image processing happens here beyond numpy slicing for display (the swipe
crop); the |SR - HR| map arrives ready-made as a float array.

Nothing Qt is created at import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontDatabase, QFontMetricsF, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["Panel", "CursorInfo", "CompareView", "choose_grid", "DEFAULT_PLACEHOLDER"]

DEFAULT_PLACEHOLDER = "Open an image (Ctrl+O), drop one here, or paste (Ctrl+V)"
ALL_HIDDEN_TEXT = "All panels are hidden — tick one in the bar above"

ZOOM_PRESETS: tuple[int, ...] = (100, 200, 400, 800)
MIN_ZOOM = 1.0  # percent, for set_zoom
MAX_ZOOM = 25600.0

# Geometry of the graphics layout (scene units == logical screen pixels).
_OUTER_MARGIN = 4.0  # around the whole grid
_CELL_SPACING = 6.0  # between grid cells
_TITLE_GAP = 2.0  # between a title and its view box
_FIT_PADDING = 0.01  # fraction of the image added around it by zoom_fit


# --------------------------------------------------------------------------- data types


@dataclass
class Panel:
    """One image shown by the comparison view."""

    key: str  # "lr", "bicubic", "nlsn", "hr", "diff"
    title: str  # shown above the panel, e.g. "LR (nearest)"
    pixels: np.ndarray  # (h, w, 3) / (h, w, 4) uint8 RGB(A), or (h, w) float32 for a diff map
    scale: int = 1  # display magnification into output coordinates (LR panel: the SR factor)
    colormap: str | None = None  # e.g. "inferno" for the diff map (levels 0..max)
    subtitle: str = ""  # e.g. "PSNR 31.20 dB · SSIM 0.8871"


@dataclass
class CursorInfo:
    """What lies under the mouse cursor, in every panel currently shown."""

    x: int  # output-pixel coordinates
    y: int
    values: dict[str, tuple]  # panel key -> pixel value(s) at that panel's own resolution
    # Extras used by text(); filled in by CompareView.
    titles: dict[str, str] = field(default_factory=dict)  # panel key -> short title
    coords: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (x, y) in the panel's own pixels
    key: str | None = None  # the panel the mouse is over (None when computed programmatically)

    def text(self) -> str:
        """One line, e.g. ``x 120  y 45 │ LR (60, 22) 120 131 140 │ Bicubic 118 129 141 │ …``."""
        parts = [f"x {self.x}  y {self.y}"]
        for key, vals in self.values.items():
            name = self.titles.get(key, key)
            cx, cy = self.coords.get(key, (self.x, self.y))
            where = f" ({cx}, {cy})" if (cx, cy) != (self.x, self.y) else ""
            parts.append(f"{name}{where} " + " ".join(_format_value(v) for v in vals))
        return " │ ".join(parts)


def _format_value(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _short_title(title: str) -> str:
    """'LR (nearest)' -> 'LR': drop a trailing parenthesised note for the compact readout."""
    t = title.strip()
    if t.endswith(")") and " (" in t:
        t = t[: t.rindex(" (")].strip()
    return t or title


def choose_grid(
    n: int,
    avail_w: float,
    avail_h: float,
    img_w: float,
    img_h: float,
    *,
    title_h: float = 0.0,
    spacing: float = 0.0,
) -> tuple[int, int]:
    """(rows, cols) for ``n`` panels that makes each (img_w x img_h) image largest.

    Each cell is ``avail / count`` minus the spacing, and loses ``title_h`` at the top
    for its title.  Layouts with a completely empty row are skipped.  Among layouts within 2 %
    of the largest image size, the one with the fewest empty cells and then the fewest
    rows wins (side by side is what a comparison wants; holes in the grid are dead space).
    """
    if n <= 0:
        return (0, 0)
    img_w, img_h = max(img_w, 1e-6), max(img_h, 1e-6)
    candidates = []  # (scale, empty cells, rows, cols)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if (rows - 1) * cols >= n:
            continue
        cell_w = (avail_w - spacing * (cols - 1)) / cols
        cell_h = (avail_h - spacing * (rows - 1)) / rows - title_h
        scale = min(cell_w / img_w, cell_h / img_h) if cell_w > 0 and cell_h > 0 else 0.0
        candidates.append((scale, rows * cols - n, rows, cols))
    top = max(c[0] for c in candidates)
    near = [c for c in candidates if c[0] >= 0.98 * top]
    _, _, rows, cols = min(near, key=lambda c: (c[1], c[2]))
    return (rows, cols)


def _display_array(pixels: np.ndarray) -> np.ndarray:
    """Validate panel pixels and return the array to display: (h, w), (h, w, 3) or (h, w, 4)."""
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]  # (h, w, 1) -> (h, w)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"panel pixels must be (h, w), (h, w, 3) or (h, w, 4), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"panel pixels are empty: {arr.shape}")
    return arr


def _display_opts(arr: np.ndarray, colormap: str | None) -> dict:
    """ImageItem levels / lookup table for an array."""
    if arr.ndim == 2 and (colormap is not None or arr.dtype.kind == "f"):
        # Scalar map (the |SR - HR| difference): levels 0..max, optional colour map.
        finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
        top = float(finite.max()) if finite.size else 0.0
        lut = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, 256) if colormap else None
        return {"levels": (0.0, max(top, 1e-6)), "lut": lut}
    if arr.dtype == np.uint8:
        return {"levels": (0, 255), "lut": None}
    if arr.dtype.kind == "f":  # float RGB(A): 0..1 or 0..255
        top = float(np.nanmax(arr)) if arr.size else 1.0
        return {"levels": (0.0, 1.0 if top <= 1.0 else 255.0), "lut": None}
    return {"levels": (0, float(np.iinfo(arr.dtype).max)), "lut": None}


def _pixel_value(arr: np.ndarray, px: int, py: int) -> tuple:
    v = arr[py, px]
    if arr.dtype.kind == "f":
        return tuple(float(c) for c in np.atleast_1d(v))
    return tuple(int(c) for c in np.atleast_1d(v))


# --------------------------------------------------------------------------- graphics items


class _TitleItem(pg.GraphicsWidget):
    """A one-line title (bold) + subtitle (dimmer), elided to the cell width.

    Unlike ``pg.LabelItem`` it never forces a minimum width on the grid, so all cells
    stay the same size (which keeps the linked views aligned).
    """

    def __init__(self, justify: str = "center") -> None:
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

    def set_colors(self, text: QColor, dim: QColor) -> None:
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


def _make_view_box() -> pg.ViewBox:
    vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
    vb.disableAutoRange()  # we set ranges explicitly; overlays must not re-range the view
    return vb


def _make_image_item() -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)  # keep nearest-neighbour pixel blocks exact
    return item


def _make_cell(title: _TitleItem | tuple[_TitleItem, _TitleItem], vb: pg.ViewBox) -> pg.GraphicsLayout:
    """A grid cell: title row on top of the view box."""
    cell = pg.GraphicsLayout()
    cell.layout.setContentsMargins(0, 0, 0, 0)
    cell.layout.setSpacing(_TITLE_GAP)
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


class _ElidedLabel(QLabel):
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
class _Slot:
    """Everything the view holds for one panel."""

    panel: Panel
    data: np.ndarray  # (h, w) / (h, w, 3) / (h, w, 4), what is displayed
    opts: dict  # ImageItem levels / lut
    vb: pg.ViewBox
    item: pg.ImageItem
    title: _TitleItem
    cell: pg.GraphicsLayout
    visible: bool = True

    @property
    def out_size(self) -> tuple[int, int]:
        """(w, h) in output pixels."""
        h, w = self.data.shape[:2]
        return (w * self.panel.scale, h * self.panel.scale)


# --------------------------------------------------------------------------- the widget


class CompareView(QWidget):
    """LR / bicubic / NLSN / HR side by side (or as a swipe) with synchronised zoom and pan."""

    cursorMoved = Signal(object)  # CursorInfo | None when the cursor leaves the images
    pixelClicked = Signal(str, float, float)  # panel key, x, y in output-pixel coordinates
    zoomChanged = Signal(float)  # zoom in percent (100 = one output pixel per screen pixel)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._slots: dict[str, _Slot] = {}  # display order = insertion order
        self._mode = "side"
        self._swipe_pair: tuple[str, str] | None = None
        self._swipe_fraction = 0.5
        self._placed: list[pg.GraphicsLayout] = []  # cells currently in the grid
        self._grid: tuple[int, int] = (0, 0)
        self._fit_mode = True  # re-fit on resize until the user zooms or pans
        self._last_zoom: float | None = None
        self._cursor_none_sent = True
        self._placeholder_text = DEFAULT_PLACEHOLDER
        self._checks: dict[str, QCheckBox] = {}

        self._build_toolbar()
        self._build_graphics()
        self._build_readout()

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(2)
        root.addWidget(self._toolbar)
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

    # ----------------------------------------------------------------- construction

    def _build_toolbar(self) -> None:
        # A QToolBar (not a plain row): theme-aware separators, and on a narrow window
        # whatever does not fit goes into its » extension menu instead of being squashed.
        bar = QToolBar(self)
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.setContentsMargins(2, 0, 2, 0)
        bar.layout().setSpacing(4)

        # Panel visibility check boxes are inserted before this separator (set_panels).
        self._check_actions: dict[str, QAction] = {}
        self._sep_checks = bar.addSeparator()

        # Mode toggle: an exclusive pair of buttons.
        self._btn_side = self._tool_button(bar, "Side by side", "Show the panels side by side")
        self._btn_swipe = self._tool_button(bar, "Swipe", "Show two panels in one view with a draggable divider")
        self._mode_group = QButtonGroup(self)
        self._mode_group.setExclusive(True)
        for b in (self._btn_side, self._btn_swipe):
            b.setCheckable(True)
            self._mode_group.addButton(b)
        self._btn_side.setChecked(True)
        self._btn_side.toggled.connect(self._on_side_toggled)
        self._btn_swipe.toggled.connect(self._on_swipe_toggled)

        # Swipe pair.
        self._combo_left = QComboBox(bar)
        self._combo_right = QComboBox(bar)
        self._swipe_vs = QLabel(" │ ", bar)
        for c, tip in ((self._combo_left, "Swipe: left image"), (self._combo_right, "Swipe: right image")):
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            c.setToolTip(tip)
            c.activated.connect(self._on_combo)
        bar.addWidget(self._combo_left)
        bar.addWidget(self._swipe_vs)
        bar.addWidget(self._combo_right)
        bar.addSeparator()

        # Zoom buttons + the current zoom.
        self._zoom_buttons: list[QToolButton] = []
        fit = self._tool_button(bar, "Fit", "Fit the whole image in each panel")
        fit.clicked.connect(self._on_fit_clicked)
        self._zoom_buttons.append(fit)
        for pct in ZOOM_PRESETS:
            n = pct // 100
            b = self._tool_button(bar, f"{pct}%", f"Zoom to {pct}% (one output pixel = {n}×{n} screen pixels)")
            b.setProperty("zoom_percent", float(pct))
            b.clicked.connect(self._on_zoom_button)
            self._zoom_buttons.append(b)
        self._zoom_label = QLabel("—", bar)
        self._zoom_label.setToolTip("Current zoom (100% = one output pixel per screen pixel)")
        self._zoom_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._zoom_label.setMinimumWidth(self._zoom_label.fontMetrics().horizontalAdvance("8888%") + 8)
        self._zoom_label.setContentsMargins(4, 0, 0, 0)
        bar.addWidget(self._zoom_label)
        self._toolbar = bar

    @staticmethod
    def _tool_button(bar: QToolBar, text: str, tip: str) -> QToolButton:
        b = QToolButton(bar)
        b.setText(text)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addWidget(b)
        return b

    def _on_side_toggled(self, on: bool) -> None:
        if on:
            self.set_mode("side")

    def _on_swipe_toggled(self, on: bool) -> None:
        if on:
            self.set_mode("swipe")

    def _on_fit_clicked(self) -> None:
        self.zoom_fit()

    def _on_zoom_button(self) -> None:
        self.set_zoom(float(self.sender().property("zoom_percent")))

    def _build_graphics(self) -> None:
        self._stack = QStackedWidget(self)
        self._placeholder = QLabel(self._placeholder_text, self._stack)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setEnabled(False)  # greyed hint text
        self._stack.addWidget(self._placeholder)

        self._glw = pg.GraphicsLayoutWidget(self._stack)
        # Nearest-neighbour: never smooth scaled pixmaps/images.
        self._glw.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self._glw.setAcceptDrops(False)  # let drops reach the main window
        self._glw.viewport().setAcceptDrops(False)
        self._new_grid()
        self._stack.addWidget(self._glw)
        scene = self._glw.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._glw.installEventFilter(self)
        self._glw.viewport().installEventFilter(self)

        # Swipe cell: one view box, two images, a draggable vertical line.
        self._swipe_vb = _make_view_box()
        self._swipe_vb.sigRangeChanged.connect(self._schedule_zoom)
        self._swipe_vb.sigRangeChangedManually.connect(self._on_manual_range)
        self._swipe_left = _make_image_item()
        self._swipe_right = _make_image_item()
        self._swipe_vb.addItem(self._swipe_left)
        self._swipe_vb.addItem(self._swipe_right)
        self._swipe_line = pg.InfiniteLine(pos=0, angle=90, movable=True)
        self._swipe_line.setZValue(10)
        self._swipe_line.sigPositionChanged.connect(self._on_swipe_line_moved)
        self._swipe_vb.addItem(self._swipe_line, ignoreBounds=True)
        self._swipe_halo = pg.InfiniteLine(pos=0, angle=90, movable=False)  # follows the line
        self._swipe_halo.setZValue(9)
        self._swipe_halo.setAcceptHoverEvents(False)
        self._swipe_halo.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._swipe_vb.addItem(self._swipe_halo, ignoreBounds=True)
        self._swipe_title_l = _TitleItem("right")  # ends at the middle
        self._swipe_title_r = _TitleItem("left")  # starts at the middle
        self._swipe_cell = _make_cell((self._swipe_title_l, self._swipe_title_r), self._swipe_vb)

    def _build_readout(self) -> None:
        self._readout = _ElidedLabel(self)
        f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._readout.setFont(f)
        self._readout.setMargin(4)
        self._readout.setFixedHeight(self._readout.fontMetrics().height() + 6)
        self._readout.setToolTip("Pixel values under the cursor")

    # ----------------------------------------------------------------- theme

    def _theme_colors(self) -> tuple[QColor, QColor, QColor]:
        """(title text, subtitle text, panel border) from the palette (dark or light theme)."""
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        if dim == text or dim.alpha() == 0:
            dim = QColor(text)
            dim.setAlpha(170)
        return text, dim, pal.color(QPalette.ColorRole.Mid)

    def _apply_theme(self) -> None:
        text, dim, border = self._theme_colors()
        self._glw.setBackground(self.palette().color(QPalette.ColorRole.Window))
        for t in [s.title for s in self._slots.values()] + [self._swipe_title_l, self._swipe_title_r]:
            t.set_colors(text, dim)
        for vb in [s.vb for s in self._slots.values()] + [self._swipe_vb]:
            vb.setBorder(pg.mkPen(border, width=1))
        # The swipe divider must stand out on any image: a light line over a dark halo,
        # the accent colour while hovered.
        self._swipe_line.setPen(pg.mkPen(QColor(255, 255, 255, 230), width=2))
        self._swipe_line.setHoverPen(pg.mkPen(self.palette().color(QPalette.ColorRole.Highlight), width=3))
        self._swipe_halo.setPen(pg.mkPen(QColor(0, 0, 0, 140), width=4))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(self, "_swipe_halo"):
            self._apply_theme()
        super().changeEvent(event)

    # ----------------------------------------------------------------- panels

    def set_placeholder(self, text: str) -> None:
        """Text shown when there are no panels."""
        self._placeholder_text = text
        self._show_placeholder_if_needed()

    def set_panels(self, panels: list[Panel], *, keep_view: bool = False) -> None:
        """Replace all panels.  Fits the view unless ``keep_view``.

        View boxes of keys that stay are reused (overlay items added through
        ``view_box`` survive) and so is their visibility.
        """
        keys = [p.key for p in panels]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate panel keys: {keys}")
        arrays = [_display_array(p.pixels) for p in panels]  # validate before changing anything
        for p in panels:
            if int(p.scale) < 1:
                raise ValueError(f"panel {p.key!r}: scale must be >= 1, got {p.scale}")
        target = self._target_rect() if keep_view else None
        self._remove_placed()
        old = self._slots
        self._slots = {}
        for p, arr in zip(panels, arrays):
            p.scale = int(p.scale)
            slot = old.pop(p.key, None)
            if slot is None:
                slot = self._new_slot(p, arr)
            else:
                slot.panel = p
            self._slots[p.key] = slot
            self._set_slot_pixels(slot, arr)
        for slot in old.values():  # keys that went away
            self._discard_slot(slot)
        if self._swipe_pair is None or not all(k in self._slots for k in self._swipe_pair):
            self._swipe_pair = self._default_swipe_pair()
        self._refresh_toolbar()
        self._relayout(target=target, fit=not keep_view or target is None)

    def update_panel(self, key: str, pixels: np.ndarray, subtitle: str | None = None) -> None:
        """Replace one panel's pixels (and optionally its subtitle); the view is kept."""
        slot = self._slots[key]
        arr = _display_array(pixels)
        old_size = slot.out_size
        slot.panel.pixels = pixels
        if subtitle is not None:
            slot.panel.subtitle = subtitle
        self._set_slot_pixels(slot, arr)
        if self._mode == "swipe" and self._swipe_pair and key in self._swipe_pair:
            self._update_swipe_images()
        if slot.out_size != old_size:
            self._relayout(target=self._target_rect(), fit=self._fit_mode)

    def remove_panel(self, key: str) -> None:
        slot = self._slots[key]
        target = self._target_rect()
        self._remove_placed()
        del self._slots[key]
        self._discard_slot(slot)
        if self._swipe_pair and key in self._swipe_pair:
            self._swipe_pair = self._default_swipe_pair()
        self._refresh_toolbar()
        self._relayout(target=target, fit=self._fit_mode)

    def clear(self) -> None:
        """Remove every panel and show the placeholder."""
        self.set_panels([])

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
        check = self._checks.get(key)
        if check is not None and check.isChecked() != slot.visible:
            check.blockSignals(True)
            check.setChecked(slot.visible)
            check.blockSignals(False)
        self._relayout(target=target, fit=self._fit_mode)

    def view_box(self, key: str) -> pg.ViewBox:
        """The panel's view box, for overlay items (in output-pixel coordinates)."""
        return self._slots[key].vb

    def image_item(self, key: str) -> pg.ImageItem:
        """The panel's image item (side-by-side mode)."""
        return self._slots[key].item

    def _new_slot(self, panel: Panel, arr: np.ndarray) -> _Slot:
        vb = _make_view_box()
        item = _make_image_item()
        vb.addItem(item)
        title = _TitleItem()
        cell = _make_cell(title, vb)
        vb.sigRangeChanged.connect(self._schedule_zoom)
        vb.sigRangeChangedManually.connect(self._on_manual_range)
        text, dim, border = self._theme_colors()
        title.set_colors(text, dim)
        vb.setBorder(pg.mkPen(border, width=1))
        return _Slot(panel=panel, data=arr, opts={}, vb=vb, item=item, title=title, cell=cell)

    def _discard_slot(self, slot: _Slot) -> None:
        # Already out of the scene (_remove_placed); just drop the links.
        slot.vb.setXLink(None)
        slot.vb.setYLink(None)

    def _set_slot_pixels(self, slot: _Slot, arr: np.ndarray) -> None:
        slot.data = arr
        slot.opts = _display_opts(arr, slot.panel.colormap)
        slot.title.set_text(slot.panel.title, slot.panel.subtitle)
        s = slot.panel.scale
        h, w = arr.shape[:2]
        slot.item.setImage(arr, autoLevels=False, **slot.opts)
        slot.item.setRect(QRectF(0, 0, w * s, h * s))  # LR: stretched into output coordinates
        check = self._checks.get(slot.panel.key)
        if check is not None:
            check.setText(slot.panel.title)

    def _default_swipe_pair(self) -> tuple[str, str] | None:
        keys = list(self._slots)
        if not keys:
            return None
        right = "nlsn" if "nlsn" in self._slots else keys[-1]
        others = [k for k in keys if k != right]
        left = "bicubic" if "bicubic" in others else (others[0] if others else right)
        return (left, right)

    def _extent(self) -> tuple[int, int]:
        """(W, H) of the output-pixel canvas: the largest panel."""
        if not self._slots:
            return (1, 1)
        sizes = [s.out_size for s in self._slots.values()]
        return (max(w for w, _ in sizes), max(h for _, h in sizes))

    # ----------------------------------------------------------------- toolbar

    def _refresh_toolbar(self) -> None:
        # Rebuild the visibility check boxes (inserted before the first separator).
        for key, action in self._check_actions.items():
            self._toolbar.removeAction(action)
            self._checks[key].deleteLater()
        self._checks = {}
        self._check_actions = {}
        for key, slot in self._slots.items():
            check = QCheckBox(slot.panel.title, self._toolbar)
            check.setChecked(slot.visible)
            check.setToolTip(f"Show the {slot.panel.title} panel")
            check.toggled.connect(partial(self._on_check_toggled, key))
            check.setContentsMargins(2, 0, 6, 0)
            self._check_actions[key] = self._toolbar.insertWidget(self._sep_checks, check)
            self._checks[key] = check
        self._sep_checks.setVisible(bool(self._slots))
        # Swipe combos.
        for combo in (self._combo_left, self._combo_right):
            combo.blockSignals(True)
            combo.clear()
            for key, slot in self._slots.items():
                combo.addItem(slot.panel.title, key)
            combo.blockSignals(False)
        if self._swipe_pair:
            self._combo_left.setCurrentIndex(self._combo_left.findData(self._swipe_pair[0]))
            self._combo_right.setCurrentIndex(self._combo_right.findData(self._swipe_pair[1]))
        self._update_toolbar_state()

    def _update_toolbar_state(self) -> None:
        has = bool(self._slots)
        swipe = self._mode == "swipe"
        for w in (self._combo_left, self._combo_right, self._swipe_vs):
            w.setEnabled(has and swipe)
        for b in self._zoom_buttons:
            b.setEnabled(has)
        for w in (self._btn_side, self._btn_swipe):
            w.setEnabled(has)
        for b, on in ((self._btn_side, not swipe), (self._btn_swipe, swipe)):
            if b.isChecked() != on:
                b.blockSignals(True)
                b.setChecked(on)
                b.blockSignals(False)
        for check in self._checks.values():
            check.setEnabled(not swipe)  # swipe shows the chosen pair only
        if not has:
            self._zoom_label.setText("—")

    def _on_check_toggled(self, key: str, on: bool) -> None:
        if key in self._slots:
            self.set_panel_visible(key, on)

    def _on_combo(self, _index: int = 0) -> None:
        left = self._combo_left.currentData()
        right = self._combo_right.currentData()
        if left is not None and right is not None:
            self.set_swipe_pair(left, right)

    # ----------------------------------------------------------------- mode / swipe

    def set_mode(self, mode: str) -> None:
        """'side' (side by side) or 'swipe'."""
        if mode not in ("side", "swipe"):
            raise ValueError(f"mode must be 'side' or 'swipe', got {mode!r}")
        if mode == self._mode:
            self._update_toolbar_state()
            return
        target = self._target_rect()
        self._remove_placed()
        self._mode = mode
        self._update_toolbar_state()
        self._relayout(target=target, fit=self._fit_mode)

    def mode(self) -> str:
        return self._mode

    def swipe_pair(self) -> tuple[str, str] | None:
        return self._swipe_pair

    def set_swipe_pair(self, left: str, right: str) -> None:
        for k in (left, right):
            if k not in self._slots:
                raise KeyError(k)
        self._swipe_pair = (left, right)
        for combo, k in ((self._combo_left, left), (self._combo_right, right)):
            i = combo.findData(k)
            if combo.currentIndex() != i:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
        if self._mode == "swipe":
            self._update_swipe_images()

    def set_swipe_position(self, fraction: float) -> None:
        """Move the swipe line to ``fraction`` (0..1) of the image width."""
        self._swipe_fraction = min(max(float(fraction), 0.0), 1.0)
        w, _ = self._extent()
        self._swipe_line.setValue(self._swipe_fraction * w)  # -> _on_swipe_line_moved

    def swipe_position(self) -> float:
        return self._swipe_fraction

    def _on_swipe_line_moved(self, *_args: object) -> None:
        w, _ = self._extent()
        self._swipe_fraction = min(max(float(self._swipe_line.value()) / w, 0.0), 1.0)
        self._update_swipe_right()

    def _update_swipe_images(self) -> None:
        if not self._swipe_pair:
            return
        left = self._slots[self._swipe_pair[0]]
        right = self._slots[self._swipe_pair[1]]
        s = left.panel.scale
        h, w = left.data.shape[:2]
        self._swipe_left.setImage(left.data, autoLevels=False, **left.opts)
        self._swipe_left.setRect(QRectF(0, 0, w * s, h * s))
        self._swipe_title_l.set_text("◀ " + left.panel.title, left.panel.subtitle)
        self._swipe_title_r.set_text(right.panel.title + " ▶", right.panel.subtitle)
        W, _ = self._extent()
        self._swipe_line.setBounds((0, W))
        self._swipe_line.blockSignals(True)
        self._swipe_line.setValue(self._swipe_fraction * W)
        self._swipe_line.blockSignals(False)
        self._update_swipe_right()

    def _update_swipe_right(self) -> None:
        """Show the right image only at and right of the line: crop its columns (cheap)."""
        self._swipe_halo.setValue(self._swipe_line.value())
        if not self._swipe_pair:
            return
        right = self._slots[self._swipe_pair[1]]
        s = right.panel.scale
        h, w = right.data.shape[:2]
        x = float(self._swipe_line.value())
        c0 = min(max(int(round(x / s)), 0), w)  # first shown column, in the panel's own pixels
        if c0 >= w:
            self._swipe_right.hide()
            return
        crop = right.data[:, c0:]  # (h, w - c0[, C]) view, no copy
        self._swipe_right.setImage(crop, autoLevels=False, **right.opts)
        self._swipe_right.setRect(QRectF(c0 * s, 0, (w - c0) * s, h * s))
        self._swipe_right.show()

    def swipe_right_item(self) -> pg.ImageItem:
        """The cropped right-hand image item of swipe mode (for tests / inspection)."""
        return self._swipe_right

    def swipe_view_box(self) -> pg.ViewBox:
        return self._swipe_vb

    # ----------------------------------------------------------------- layout

    def _active_vbs(self) -> list[pg.ViewBox]:
        """View boxes on screen now, in display order."""
        if not self._slots:
            return []
        if self._mode == "swipe":
            return [self._swipe_vb] if self._swipe_pair else []
        return [s.vb for s in self._slots.values() if s.visible]

    def _active_vb(self) -> pg.ViewBox | None:
        vbs = self._active_vbs()
        return vbs[0] if vbs else None

    def _target_rect(self) -> QRectF | None:
        vb = self._active_vb()
        if vb is None or not self._placed:
            return None
        return QRectF(vb.targetRect())

    def _remove_placed(self) -> None:
        ci = self._glw.ci
        for cell in self._placed:
            ci.removeItem(cell)
        self._placed = []
        self._grid = (0, 0)

    def _new_grid(self) -> pg.GraphicsLayout:
        """Replace the central grid of the graphics view by an empty one."""
        grid = pg.GraphicsLayout()
        grid.layout.setContentsMargins(_OUTER_MARGIN, _OUTER_MARGIN, _OUTER_MARGIN, _OUTER_MARGIN)
        grid.layout.setSpacing(_CELL_SPACING)
        self._glw.setCentralItem(grid)
        self._glw.ci = grid
        return grid

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the current side-by-side grid ((1, 1) in swipe mode)."""
        return self._grid

    def _available_size(self) -> tuple[float, float]:
        vp = self._glw.viewport().size()
        return (vp.width() - 2 * _OUTER_MARGIN, vp.height() - 2 * _OUTER_MARGIN)

    def _choose_grid(self, n: int) -> tuple[int, int]:
        aw, ah = self._available_size()
        w, h = self._extent()
        title_h = self._swipe_title_l.minimumHeight() + _TITLE_GAP
        return choose_grid(n, aw, ah, w, h, title_h=title_h, spacing=_CELL_SPACING)

    def _relayout(self, *, target: QRectF | None, fit: bool) -> None:
        """Put the visible cells in the grid, link them, and restore or fit the view."""
        self._remove_placed()
        if self._show_placeholder_if_needed():
            return
        # A fresh grid each time: QGraphicsGridLayout keeps (and spaces) rows and
        # columns that were once used, which would leave dead space.
        ci = self._new_grid()
        grid_layout = ci.layout
        if self._mode == "swipe":
            ci.addItem(self._swipe_cell, row=0, col=0)
            self._placed = [self._swipe_cell]
            self._grid = (1, 1)
            grid_layout.setRowStretchFactor(0, 1)
            grid_layout.setColumnStretchFactor(0, 1)
            self._update_swipe_images()
        else:
            slots = [s for s in self._slots.values() if s.visible]
            rows, cols = self._choose_grid(len(slots))
            for i, slot in enumerate(slots):
                ci.addItem(slot.cell, row=i // cols, col=i % cols)
                self._placed.append(slot.cell)
            for r in range(rows):
                grid_layout.setRowStretchFactor(r, 1)
            for c in range(cols):
                grid_layout.setColumnStretchFactor(c, 1)
            self._grid = (rows, cols)
            # Link every shown view to the first one (pyqtgraph links are star-shaped:
            # a change in any of them goes through the master to all others).
            master = slots[0].vb
            master.setXLink(None)
            master.setYLink(None)
            for slot in slots[1:]:
                slot.vb.setXLink(master)
                slot.vb.setYLink(master)
            for slot in self._slots.values():
                if not slot.visible:
                    slot.vb.setXLink(None)
                    slot.vb.setYLink(None)
        # Emptying the grid lets Qt shrink the (top-level) layout item to its size
        # constraints; give it the whole view back before laying out.
        ci.setGeometry(QRectF(self._glw.viewport().rect()))
        grid_layout.activate()
        for cell in self._placed:
            cell.layout.activate()
        if fit or target is None:
            self.zoom_fit()
        else:
            vb = self._active_vb()
            if vb is not None:
                vb.setRange(rect=target, padding=0)
        self._schedule_zoom()

    def _show_placeholder_if_needed(self) -> bool:
        """Show the hint page when there is nothing to draw; True if shown."""
        empty = not self._slots
        nothing_visible = not empty and self._mode == "side" and not any(s.visible for s in self._slots.values())
        if empty or nothing_visible:
            self._placeholder.setText(self._placeholder_text if empty else ALL_HIDDEN_TEXT)
            self._stack.setCurrentWidget(self._placeholder)
            self._update_toolbar_state()
            self._readout.setText("")
            return True
        self._stack.setCurrentWidget(self._glw)
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._glw and event.type() == QEvent.Type.Resize:
            self._layout_timer.start()
        elif obj is self._glw.viewport() and event.type() == QEvent.Type.Leave:
            self._emit_cursor(None)
        return super().eventFilter(obj, event)

    def _on_resized(self) -> None:
        """Debounced: pick the grid again for the new size, keeping the view."""
        if not self._placed:
            return
        if self._mode == "side":
            n = len(self.visible_keys())
            if self._choose_grid(n) != self._grid:
                self._relayout(target=self._target_rect(), fit=self._fit_mode)
                return
        if self._fit_mode:
            self.zoom_fit()

    # ----------------------------------------------------------------- zoom / range

    def zoom_fit(self) -> None:
        """Show the whole image in every panel."""
        self._fit_mode = True
        vb = self._active_vb()
        if vb is None:
            return
        w, h = self._extent()
        vb.setRange(rect=QRectF(0, 0, w, h), padding=_FIT_PADDING)

    def zoom(self) -> float:
        """Screen pixels per output pixel x 100 (equals 100 / vb.viewPixelSize()[0])."""
        vb = self._active_vb()
        if vb is None:
            return 100.0
        (x0, x1), _ = vb.viewRange()
        width_px = vb.width()
        if x1 <= x0 or width_px <= 0:
            return 100.0
        return width_px / (x1 - x0) * 100.0

    def set_zoom(self, percent: float) -> None:
        """Zoom to ``percent`` around the current view centre."""
        vb = self._active_vb()
        if vb is None:
            return
        percent = min(max(float(percent), MIN_ZOOM), MAX_ZOOM)
        self._glw.ci.layout.activate()
        w_px, h_px = vb.width(), vb.height()
        if w_px <= 0 or h_px <= 0:
            return
        self._fit_mode = False
        centre = vb.viewRect().center()
        w, h = w_px * 100.0 / percent, h_px * 100.0 / percent
        vb.setRange(rect=QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h), padding=0)

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((x0, x1), (y0, y1)) of the first visible panel, in output pixels."""
        vb = self._active_vb()
        if vb is None:
            w, h = self._extent()
            return ((0.0, float(w)), (0.0, float(h)))
        (x0, x1), (y0, y1) = vb.viewRange()
        return ((float(x0), float(x1)), (float(y0), float(y1)))

    def set_view_range(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        vb = self._active_vb()
        if vb is None:
            return
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
        self._zoom_label.setText(f"{z:.0f}%" if z >= 10 else f"{z:.1f}%")
        if self._last_zoom is None or abs(z - self._last_zoom) > 1e-6 * max(z, 1.0):
            self._last_zoom = z
            self.zoomChanged.emit(z)

    # ----------------------------------------------------------------- cursor / clicks

    def _hit(self, scene_pos: QPointF) -> tuple[str, float, float] | None:
        """(panel key, x, y) in output pixels for a scene point over an image, else None."""
        if self._stack.currentWidget() is not self._glw:
            return None
        if self._mode == "swipe":
            vb = self._swipe_vb
            if not self._swipe_pair or not vb.sceneBoundingRect().contains(scene_pos):
                return None
            pt = vb.mapSceneToView(scene_pos)
            key = self._swipe_pair[0] if pt.x() < self._swipe_line.value() else self._swipe_pair[1]
            w, h = self._slots[key].out_size
            if 0 <= pt.x() < w and 0 <= pt.y() < h:
                return (key, float(pt.x()), float(pt.y()))
            return None
        for key, slot in self._slots.items():
            if not slot.visible or not slot.vb.sceneBoundingRect().contains(scene_pos):
                continue
            pt = slot.vb.mapSceneToView(scene_pos)
            w, h = slot.out_size
            if 0 <= pt.x() < w and 0 <= pt.y() < h:
                return (key, float(pt.x()), float(pt.y()))
            return None
        return None

    def cursor_info_at(self, x: float, y: float, key: str | None = None) -> CursorInfo | None:
        """Pixel values of the shown panels at output coordinates (x, y); None outside."""
        ix, iy = math.floor(x), math.floor(y)
        W, H = self._extent()
        if not self._slots or not (0 <= ix < W and 0 <= iy < H):
            return None
        if self._mode == "swipe" and self._swipe_pair:
            keys = list(dict.fromkeys(self._swipe_pair))
        else:
            keys = self.visible_keys()
        info = CursorInfo(x=ix, y=iy, values={}, key=key)
        for k in keys:
            slot = self._slots[k]
            s = slot.panel.scale
            px, py = ix // s, iy // s  # the panel's own pixel (LR: output // scale)
            h, w = slot.data.shape[:2]
            if 0 <= px < w and 0 <= py < h:
                info.values[k] = _pixel_value(slot.data, px, py)
                info.titles[k] = _short_title(slot.panel.title)
                info.coords[k] = (px, py)
        return info if info.values else None

    def scene_pos_of(self, key: str, x: float, y: float) -> QPointF:
        """Scene position of output point (x, y) in a panel (swipe mode: the swipe view)."""
        vb = self._swipe_vb if self._mode == "swipe" else self._slots[key].vb
        return vb.mapViewToScene(QPointF(x, y))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        hit = self._hit(scene_pos)
        info = self.cursor_info_at(hit[1], hit[2], hit[0]) if hit else None
        self._emit_cursor(info)

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

    def _on_mouse_clicked(self, ev: object) -> None:
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
