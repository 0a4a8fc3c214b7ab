"""The attention inspector: hash buckets and per-pixel attention of the NLSA modules.

``InspectorPanel`` lives in a dock of the main window. "Inspect" runs one forward of the selected
model on the LR image on the worker thread (``core.inspection.inspect_image``) and keeps every
NLSA module's embeddings and buckets. The panel then shows, for a module and a hash round, the
bucket map as an overlay on the compare view's LR (and NLSN) panel, and for a clicked query pixel
what that forward did with it: the pixels of its bucket, the keys it attended to, its attention
per round and combined, beside the dense (full non-local) attention of the same embeddings.

Every number and every colour comes from ``core.inspection``, computed on the worker thread by
the small jobs below; this module only places ready arrays in pyqtgraph items and text in labels.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.inspection import (
    DEFAULT_LOCAL_RADIUS,
    AttentionStats,
    BucketChange,
    BucketSizeSummary,
    Inspection,
    QueryAttention,
    RoundRow,
    attention_stats,
    bucket_changes,
    bucket_map,
    bucket_palette,
    bucket_size_summary,
    bucket_sizes,
    colorize_buckets,
    dense_attention,
    dense_coverage,
    dimmed_grey,
    heatmap_rgba,
    inspect_image,
    local_window,
    log_axis,
    log_axis_ticks,
    mask_rgba,
    query_attention,
    round_rows,
)
from core.image import display_rgb

if TYPE_CHECKING:  # pragma: no cover
    from nlsn_gui.main_window import MainWindow

HINT = "Open an image, then Inspect to hash it with the selected model"
READY_HINT = "Inspect hashes this image with the selected model and shows its buckets and attention"
CLICK_HINT = "Click a pixel in any panel to see its bucket and its attention."

# (label, key) of the overlay selector, in menu order.
OVERLAYS: tuple[tuple[str, str], ...] = (
    ("Buckets", "buckets"),
    ("Shared bucket", "shared"),
    ("Attended keys", "attended"),
    ("Attention (this round)", "round"),
    ("Attention (all rounds)", "combined"),
    ("Dense attention", "dense"),
    ("None", "none"),
)
QUERY_OVERLAYS = ("shared", "attended", "round", "combined", "dense")
OVERLAY_PANELS = ("lr", "nlsn")  # compare panels that get the overlay (markers go on all)
SHARED_COLOR = (240, 40, 220)  # magenta: pixels in the query's bucket
ATTENDED_COLOR = (255, 190, 20)  # amber: the query's candidate keys
# Every attention map of a query: one shared log scale; opacity follows the scale, so weak weights
# let the image show through.
HEAT_SCALE = {"scale": "log", "decades": 3.0, "fade": 1.0}
DEFAULT_OPACITY = 70  # percent


# --------------------------------------------------------------------------- jobs (worker thread)


@dataclass
class Inspected:
    """Result of the inspect job: the captured forward and what the panel needs to show it."""

    inspection: Inspection
    backdrop: np.ndarray  # (H, W, 3) uint8 dimmed grey LR for the heatmap views
    model_path: str
    model_name: str
    device: str
    seconds: float
    generation: int  # the panel's document generation when the job was submitted


@dataclass
class QueryView:
    """Everything shown about one query pixel of one module (and round)."""

    y: int
    x: int
    q: QueryAttention
    dense: np.ndarray  # (H, W) float64
    rows: list[RoundRow]
    sparse_stats: AttentionStats
    dense_stats: AttentionStats
    coverage: float  # share of the dense weight on keys the sparse attention attended
    window: tuple[int, int, int, int]  # local window (y0, y1, x0, x1), half-open
    vmax: float  # top of the shared heat scale
    overlays: dict[str, np.ndarray]  # key of QUERY_OVERLAYS -> (H, W, 4) uint8
    legend: np.ndarray  # (1, 256, 4) uint8 colour bar of the heat scale


@dataclass
class ModuleView:
    """One module and round of an inspection: its bucket map, and optionally a query."""

    module: int
    round: int
    buckets: int  # m (at least 1: the dense fallback has one bucket)
    chunk: int
    bucket_map: np.ndarray  # (H, W) int
    bucket_rgba: np.ndarray  # (H, W, 4) uint8
    palette: np.ndarray  # (m, 3) uint8
    sizes: np.ndarray  # (m,) int
    bar_heights: np.ndarray | None = None  # (m,) sizes on the legend's log axis
    bar_ticks: list | None = None  # [(position, label)] of that axis
    chunk_height: float = 0.0  # the chunk size on that axis
    size_summary: BucketSizeSummary | None = None
    change: BucketChange | None = None  # against the previous seed, when there is one
    change_seeds: tuple[int, int] | None = None
    query: QueryView | None = None
    request: int = 0  # the panel's request number


def inspect_job(image, *, model: str, scale: int, device: str, seed: int, generation: int):
    def run(ctx) -> Inspected:
        ctx.progress(0.0, "loading the model")
        loaded, upscaler = ctx.models.upscaler(model, scale=scale, device=device)
        ctx.check()
        start = time.perf_counter()
        inspection = inspect_image(loaded.model, image, seed=seed, device=upscaler.device,
                                   cancel=ctx.cancelled, progress=ctx.progress)
        backdrop = dimmed_grey(display_rgb(image))
        return Inspected(inspection, backdrop, str(model), loaded.name, str(upscaler.device).upper(),
                         time.perf_counter() - start, generation)

    return run


def view_job(inspection: Inspection, previous: Inspection | None, *, module: int, round_: int,
             query: tuple[int, int] | None, request: int):
    def run(ctx) -> ModuleView:
        cap = inspection.modules[module]
        m = max(cap.buckets.buckets, 1)
        bmap = bucket_map(cap, round_)
        view = ModuleView(module=module, round=round_, buckets=m, chunk=cap.chunk, bucket_map=bmap,
                          bucket_rgba=colorize_buckets(bmap, m), palette=bucket_palette(m),
                          sizes=bucket_sizes(cap, round_), request=request)
        view.size_summary = bucket_size_summary(view.sizes, cap.chunk)
        view.bar_heights = log_axis(view.sizes)
        view.bar_ticks = log_axis_ticks(max(int(view.sizes.max()), cap.chunk))
        view.chunk_height = float(log_axis(cap.chunk))
        if (previous is not None and previous.seed != inspection.seed and module < len(previous.modules)
                and previous.modules[module].length == cap.length and round_ < previous.modules[module].n_hashes):
            view.change = bucket_changes(bucket_map(previous.modules[module], round_), bmap)
            view.change_seeds = (previous.seed, inspection.seed)
        ctx.check()
        if query is not None:
            y, x = query
            q = query_attention(cap, y, x)
            ctx.check()
            dense = dense_attention(cap, y, x)
            vmax = max(float(q.round_weights.max()), float(dense.max()))
            heat = lambda w: heatmap_rgba(w, vmax=vmax, **HEAT_SCALE)  # noqa: E731
            overlays = {
                "shared": mask_rgba(q.same_bucket[round_], SHARED_COLOR),
                "attended": mask_rgba(q.attended[round_], ATTENDED_COLOR),
                "round": heat(q.round_weights[round_]),
                "combined": heat(q.combined),
                "dense": heat(dense),
            }
            ramp = vmax * 10.0 ** np.linspace(-HEAT_SCALE["decades"], 0.0, 256)[None, :]  # (1, 256)
            view.query = QueryView(
                y=y, x=x, q=q, dense=dense, rows=round_rows(cap, q),
                sparse_stats=attention_stats(q.combined, y, x), dense_stats=attention_stats(dense, y, x),
                coverage=dense_coverage(q, dense),
                window=local_window(y, x, DEFAULT_LOCAL_RADIUS, cap.height, cap.width),
                vmax=vmax, overlays=overlays, legend=heatmap_rgba(ramp, vmax=vmax, **{**HEAT_SCALE, "fade": 0.0}),
            )
        return view

    return run


# --------------------------------------------------------------------------- graphics helpers


def _rgba_image_item() -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(False)  # nearest neighbour, exact pixel blocks
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
    return item


def _set_rgba(item: pg.ImageItem, rgba: np.ndarray, rect: QRectF) -> None:
    """Show a (h, w, 3|4) uint8 image as it is, stretched over ``rect`` (nearest neighbour)."""
    item.setImage(rgba, autoLevels=False, levels=(0, 255), lut=None)
    item.setRect(rect)


def _cosmetic(color: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class _Marker:
    """The query's marker in one view box: the pixel's square and a crosshair of screen-sized ticks
    around it, white over a dark halo so it reads on any image."""

    def __init__(self, vb: pg.ViewBox) -> None:
        self.vb = vb
        path = QPainterPath()
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            path.moveTo(QPointF(6 * dx, 6 * dy))
            path.lineTo(QPointF(13 * dx, 13 * dy))
        self.items: list[QGraphicsItem] = []
        for width, color in ((4.0, QColor(0, 0, 0, 200)), (1.6, QColor(255, 255, 255))):
            cross = QGraphicsPathItem(path)
            cross.setPen(_cosmetic(color, width))
            cross.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            square = QGraphicsRectItem()
            square.setPen(_cosmetic(color, width * 0.75))
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
class _Attached:
    """What the panel added to one compare panel's view box."""

    vb: pg.ViewBox
    overlay: pg.ImageItem | None
    marker: _Marker


@dataclass
class _HeatView:
    """One small heatmap view: dimmed LR, heatmap, local window, marker."""

    title: pg.LabelItem
    vb: pg.ViewBox
    backdrop: pg.ImageItem
    heat: pg.ImageItem
    window: QGraphicsRectItem
    marker: _Marker
    caption: QLabel = field(default=None)  # type: ignore[assignment]


# --------------------------------------------------------------------------- the panel


class InspectorPanel(QWidget):
    """Dock contents: inspect, choose module/round/overlay, read a query's attention."""

    viewShown = Signal()  # a module view (and query) was drawn; for tests and screenshots

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window_ = window
        self.inspection: Inspection | None = None
        self.previous: Inspection | None = None  # the inspection before the last re-hash
        self.inspected: Inspected | None = None
        self.view: ModuleView | None = None
        self.query: tuple[int, int] | None = None  # (y, x) in LR pixels
        self._active = False  # the dock is shown
        self._generation = 0  # bumped when the document changes: late results are dropped
        self._inspect_job: int | None = None
        self._view_job: int | None = None
        self._request = 0
        self._heat_fitted = False
        self._attached: dict[str, _Attached] = {}
        self._build()
        w = window.worker.worker
        w.finished.connect(self._on_job_finished)
        w.failed.connect(self._on_job_ended)
        w.cancelled.connect(self._on_job_ended)
        window.compare.pixelClicked.connect(self._on_pixel_clicked)
        self._update_state()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 6, 8, 8)
        root.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(6)
        self.inspect_button = QPushButton("Inspect")
        self.inspect_button.setToolTip("Run the model once on the LR image and record every sparse-attention module")
        self.inspect_button.clicked.connect(self.inspect)
        top.addWidget(self.inspect_button)
        seed_label = QLabel("Seed")
        top.addWidget(seed_label)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("Seed of the random rotations that hash the pixels into buckets")
        seed_label.setBuddy(self.seed_box)
        top.addWidget(self.seed_box, 1)
        self.rehash_button = QPushButton("Re-hash")
        self.rehash_button.setToolTip("Inspect again with the next seed and count the pixels that changed bucket")
        self.rehash_button.clicked.connect(self.rehash)
        top.addWidget(self.rehash_button)
        root.addLayout(top)

        self.info_label = QLabel(HINT)
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.info_label)

        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(6)
        root.addWidget(self.content)
        root.addStretch(1)  # keeps everything at the top, whatever is hidden

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        pick = QHBoxLayout()
        pick.setSpacing(6)
        self.module_box = QComboBox()
        self.module_box.setToolTip("Sparse-attention module (its index in the network body)")
        self.round_box = QComboBox()
        self.round_box.setToolTip("Hash round: each round hashes with its own random rotation")
        pick.addWidget(self.module_box, 3)
        round_label = QLabel("Round")
        round_label.setContentsMargins(6, 0, 0, 0)
        pick.addWidget(round_label)
        pick.addWidget(self.round_box, 2)
        form.addRow("Module", pick)
        self.overlay_box = QComboBox()
        for label, key in OVERLAYS:
            self.overlay_box.addItem(label, key)
        self.overlay_box.setToolTip("What is drawn over the LR and NLSN panels")
        form.addRow("Overlay", self.overlay_box)
        opacity = QHBoxLayout()
        opacity.setSpacing(6)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(DEFAULT_OPACITY)
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(self.opacity_label.fontMetrics().horizontalAdvance("100 %"))
        self.opacity_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        opacity.addWidget(self.opacity_slider, 1)
        opacity.addWidget(self.opacity_label)
        form.addRow("Opacity", opacity)
        content.addLayout(form)
        self.change_label = QLabel("")
        self.change_label.setWordWrap(True)
        self.change_label.hide()
        content.addWidget(self.change_label)

        self.query_title = self._section("Query")
        content.addWidget(self.query_title)
        self.query_hint = QLabel(CLICK_HINT)
        self.query_hint.setWordWrap(True)
        content.addWidget(self.query_hint)
        self.numbers = QWidget()
        grid = QGridLayout(self.numbers)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        cells = [
            ("bucket", "Bucket", "The query's bucket in this round (its id, 0..m-1)"),
            ("size", "Bucket size", "Pixels hashed into the query's bucket in this round"),
            ("attended", "Attended", "Distinct pixels among the query's keys in this round: "
                                     "its own chunk and the two adjacent ones"),
            ("prob", "Round weight", "p_r: weight of this round when the rounds are combined "
                                     "(softmax of their log-sum-exp)"),
            ("entropy", "Entropy", "Entropy of the combined attention in nats: about the log of the number of "
                                   "pixels it spreads over"),
            ("nonlocal", "Non-local", f"Share of the combined weight outside the {2 * DEFAULT_LOCAL_RADIUS + 1}×"
                                      f"{2 * DEFAULT_LOCAL_RADIUS + 1} window around the query (dashed square)"),
        ]
        for i, (key, text, tip) in enumerate(cells):
            name = QLabel(text)
            name.setToolTip(tip)
            value = QLabel("–")
            value.setToolTip(tip)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            bold = value.font()
            bold.setBold(True)
            value.setFont(bold)
            row, col = divmod(i, 2)
            grid.addWidget(name, row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
            self.values[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        content.addWidget(self.numbers)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Round", "Bucket", "Size", "p_r", "Top w"])
        self.table.horizontalHeaderItem(4).setToolTip("Largest weight of one key in the round")
        self.table.horizontalHeaderItem(3).setToolTip("Weight of the round in the combination")
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Per hash round; select a row to show that round")
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        content.addWidget(self.table)

        self.heat_glw = pg.GraphicsLayoutWidget()
        self.heat_glw.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.heat_glw.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.heat_glw.ci.layout.setSpacing(4)
        self.heat_glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.heat_glw.setFixedHeight(160)
        self.heat_glw.scene().sigMouseClicked.connect(self._on_heat_clicked)
        self.sparse_view = self._heat_view("Sparse (NLSA)", 0)
        self.dense_view = self._heat_view("Dense (full non-local)", 1)
        self.dense_view.vb.setXLink(self.sparse_view.vb)
        self.dense_view.vb.setYLink(self.sparse_view.vb)
        content.addWidget(self.heat_glw)
        captions = QHBoxLayout()
        captions.setSpacing(8)
        for view in (self.sparse_view, self.dense_view):
            view.caption = QLabel("")
            view.caption.setWordWrap(True)
            view.caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            view.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            captions.addWidget(view.caption, 1)
        content.addLayout(captions)

        self.legend_title = self._section("Legend")
        content.addWidget(self.legend_title)
        self.legend_stack = QStackedWidget()
        self.legend_stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
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
        self.bar_plot.addItem(self.bars)
        self.bar_plot.addItem(self.bar_highlight)
        self.bar_plot.addItem(self.chunk_line)
        self.query_line = pg.InfiniteLine(angle=90, movable=False)
        self.bar_plot.addItem(self.query_line)
        bars_page = QWidget()
        bars_layout = QVBoxLayout(bars_page)
        bars_layout.setContentsMargins(0, 0, 0, 0)
        bars_layout.setSpacing(2)
        bars_layout.addWidget(self.bar_plot)
        self.bar_summary = QLabel("")
        self.bar_summary.setWordWrap(True)
        bars_layout.addWidget(self.bar_summary)
        self.bars_page = bars_page
        self.legend_stack.addWidget(bars_page)
        self.colorbar = QWidget()
        bar_layout = QGridLayout(self.colorbar)
        bar_layout.setContentsMargins(0, 0, 0, 0)
        bar_layout.setVerticalSpacing(2)
        self.colorbar_image = QLabel()
        self.colorbar_image.setFixedHeight(14)
        self.colorbar_image.setScaledContents(True)
        self.colorbar_image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.colorbar_low = QLabel("")
        self.colorbar_high = QLabel("")
        self.colorbar_high.setAlignment(Qt.AlignmentFlag.AlignRight)
        bar_layout.addWidget(self.colorbar_image, 0, 0, 1, 2)
        bar_layout.addWidget(self.colorbar_low, 1, 0)
        bar_layout.addWidget(self.colorbar_high, 1, 1)
        self.legend_stack.addWidget(self.colorbar)
        self.legend_text = QLabel("")
        self.legend_text.setWordWrap(True)
        self.legend_stack.addWidget(self.legend_text)
        content.addWidget(self.legend_stack)

        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the compare view with its overlays and this panel as one PNG")
        self.export_button.clicked.connect(self.export_dialog)
        bottom.addWidget(self.export_button)
        content.addLayout(bottom)

        self.module_box.currentIndexChanged.connect(self._request_view)
        self.round_box.currentIndexChanged.connect(self._request_view)
        self.overlay_box.currentIndexChanged.connect(self._show_overlay)
        self.opacity_slider.valueChanged.connect(self._apply_opacity)
        self._apply_theme()
        self._apply_opacity()

    def _section(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)  # a long title must not widen the dock
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        label.setContentsMargins(0, 4, 0, 0)
        return label

    def _heat_view(self, title: str, col: int) -> _HeatView:
        label = self.heat_glw.addLabel(title, row=0, col=col)
        vb = self.heat_glw.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
        backdrop = _rgba_image_item()
        heat = _rgba_image_item()
        heat.setZValue(10)
        vb.addItem(backdrop)
        vb.addItem(heat)
        window = QGraphicsRectItem()
        window.setPen(_cosmetic(QColor(120, 220, 255), 1.2, Qt.PenStyle.DashLine))
        window.setZValue(30)
        window.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        window.setToolTip("The local window: weight outside it counts as non-local")
        vb.addItem(window, ignoreBounds=True)
        marker = _Marker(vb)
        marker.hide()
        window.hide()
        return _HeatView(title=label, vb=vb, backdrop=backdrop, heat=heat, window=window, marker=marker)

    # ------------------------------------------------------------------ theme

    def _apply_theme(self) -> None:
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.WindowText)
        self.heat_glw.setBackground(base)
        self.bar_plot.setBackground(base)
        for view in (self.sparse_view, self.dense_view):
            view.title.setText(view.title.text, color=text)
            view.vb.setBorder(pg.mkPen(pal.color(QPalette.ColorRole.Mid), width=1))
        for axis in ("left", "bottom"):
            ax = self.bar_plot.getAxis(axis)
            ax.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
            ax.setTextPen(pg.mkPen(text))
        self.chunk_line.setPen(pg.mkPen(text, width=1, style=Qt.PenStyle.DashLine))
        self.query_line.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Highlight), width=1, style=Qt.PenStyle.DotLine))
        self.chunk_line.label.setColor(text)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        for label in (self.info_label, self.query_hint):
            label.setStyleSheet(f"color: {dim.name()}")
        if self.view is not None:
            self._show_legend()

    def _fit_heat_height(self) -> None:
        """Make the two heatmap views exactly as tall as the image needs at their width."""
        if self.inspection is None or not self.inspection.modules:
            return
        cap = self.inspection.modules[0]
        spacing = self.heat_glw.ci.layout.horizontalSpacing()
        cell_w = max((self.heat_glw.width() - max(spacing, 0)) / 2.0, 40.0)
        title_h = max(self.sparse_view.title.height(), self.fontMetrics().height() + 6)
        height = int(math.ceil(cell_w * cap.height / cap.width + title_h + 6))
        height = min(max(height, 80), 480)
        if abs(self.heat_glw.height() - height) > 1:
            self.heat_glw.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_heat_height()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(self, "dense_view"):
            self._apply_theme()
        super().changeEvent(event)

    # ------------------------------------------------------------------ main window hooks

    def set_active(self, active: bool) -> None:
        """The dock was shown or hidden: overlays and markers follow it."""
        self._active = bool(active)
        self._sync_compare()

    def document_changed(self) -> None:
        """A new image (or new LR) is shown: the inspection no longer applies."""
        self._generation += 1
        for job in (self._inspect_job, self._view_job):
            if job is not None:
                self.window_.worker.cancel(job)
        self._inspect_job = self._view_job = None
        self.inspection = self.previous = self.inspected = None
        self.view = None
        self.query = None
        self._sync_compare()
        self._update_state()

    def panels_changed(self) -> None:
        """The compare view's panels were set again: re-attach overlays to new view boxes."""
        self._sync_compare()

    def show_inspection(self, result: Inspected) -> None:
        """The inspect job finished (routed by the main window)."""
        if result.generation != self._generation:
            return  # for an image that is no longer shown
        self._inspect_job = None
        old, same_model = self.inspection, self.inspected is not None and self.inspected.model_path == result.model_path
        if old is None or not same_model:
            self.previous = None  # nothing to compare the buckets with
        elif old.seed != result.inspection.seed:
            self.previous = old  # a re-hash: compare with the seed before
        # else: the same seed again, the comparison with the seed before that still holds
        self.inspection = result.inspection
        self.inspected = result
        ins = result.inspection
        module = min(self.module_box.currentIndex(), len(ins.modules) - 1) if ins.modules else -1
        rounds = ins.modules[0].n_hashes if ins.modules else 0
        round_ = min(max(self.round_box.currentIndex(), 0), rounds - 1)
        for box, items, index in (
            (self.module_box, [f"{m.index + 1} (body {m.body_position})" for m in ins.modules], max(module, 0)),
            (self.round_box, [str(r + 1) for r in range(rounds)], max(round_, 0)),
        ):
            box.blockSignals(True)
            box.clear()
            box.addItems(items)
            box.setCurrentIndex(index if items else -1)
            box.blockSignals(False)
        if self.query is not None and ins.modules:
            cap = ins.modules[0]
            if not (0 <= self.query[0] < cap.height and 0 <= self.query[1] < cap.width):
                self.query = None
        h, w = result.backdrop.shape[:2]
        for view in (self.sparse_view, self.dense_view):
            _set_rgba(view.backdrop, result.backdrop, QRectF(0, 0, w, h))
        self._heat_fitted = False
        self._fit_heat_height()
        n = len(ins.modules)
        self.window_._set_status(
            f"Inspected {n} sparse-attention module{'s' if n != 1 else ''} with seed {ins.seed} "
            f"in {result.seconds:.1f} s on {result.device}")
        self._update_state()
        self._request_view()

    # ------------------------------------------------------------------ actions

    def inspect(self, *, seed: int | None = None) -> None:
        win = self.window_
        if win.doc is None or win.doc.comparison is None:
            win._set_status("Open an image first (Ctrl+O)")
            return
        model = win.model_path()
        if model is None:
            win._show_error(f"no x{win.scale} model is selected: open one with Model > Open Model… (Ctrl+M)")
            return
        if self._inspect_job is not None:
            win.worker.cancel(self._inspect_job)
        seed = self.seed_box.value() if seed is None else int(seed)
        self._inspect_job = win._submit(
            "inspect", f"Inspecting the sparse attention (seed {seed})",
            inspect_job(win.doc.comparison.lr, model=model, scale=win.scale, device=str(win.device_box.currentData()),
                        seed=seed, generation=self._generation))
        self._update_state()

    def rehash(self) -> None:
        """Inspect again with the next seed; the bucket changes against this seed are shown."""
        if self.inspection is not None and self.seed_box.value() == self.inspection.seed:
            self.seed_box.setValue((self.inspection.seed + 1) % (2**31))
        self.inspect()

    def select_query(self, y: int, x: int) -> None:
        """Query LR pixel (y, x) (row, column), clamped to the image."""
        if self.inspection is None or not self.inspection.modules:
            return
        cap = self.inspection.modules[0]
        self.query = (min(max(int(y), 0), cap.height - 1), min(max(int(x), 0), cap.width - 1))
        self._place_markers()
        self._request_view()

    def set_module(self, index: int) -> None:
        self.module_box.setCurrentIndex(index)

    def set_round(self, index: int) -> None:
        self.round_box.setCurrentIndex(index)

    def set_overlay(self, key: str) -> None:
        self.overlay_box.setCurrentIndex(self.overlay_box.findData(key))

    def overlay_key(self) -> str:
        return str(self.overlay_box.currentData())

    def overlay_item(self, key: str) -> pg.ImageItem | None:
        """The overlay item on compare panel ``key`` ("lr" or "nlsn"), if attached."""
        att = self._attached.get(key)
        return att.overlay if att is not None else None

    def export_dialog(self) -> None:
        win = self.window_
        folder = Path(str(win.settings.value("files/save_dir", str(Path.home()))))
        stem = Path(win.doc.name).stem if win.doc else "inspector"
        name = f"{stem}_attention.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export the inspector view", str(folder / name), "PNG (*.png)")
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> bool:
        """Save the compare view (with overlays) and this panel side by side as a PNG."""
        win = self.window_
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        left = win.compare.grab_image()
        right = self.grab().toImage()
        dpr = max(left.devicePixelRatio(), right.devicePixelRatio(), 1.0)
        gap = int(8 * dpr)
        image = QImage(left.width() + gap + right.width(), max(left.height(), right.height()),
                       QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(dpr)
        image.fill(self.palette().color(QPalette.ColorRole.Window))
        painter = QPainter(image)
        left.setDevicePixelRatio(dpr)
        right.setDevicePixelRatio(dpr)
        painter.drawImage(QPointF(0, 0), left)
        painter.drawImage(QPointF((left.width() + gap) / dpr, 0), right)
        painter.end()
        tmp = path.with_name(f".{path.name}.part")
        ok = image.save(str(tmp), "PNG")
        if ok:
            try:
                os.replace(tmp, path)
            except OSError as err:
                ok = False
                win._show_error(f"could not write {path.name}: {err.strerror or err}")
        else:
            win._show_error(f"could not write {path} (is the folder writable?)")
        if tmp.exists():
            tmp.unlink(missing_ok=True)
        if ok:
            win.settings.setValue("files/save_dir", str(path.parent))
            win._set_status(f"Exported {path}")
        return ok

    # ------------------------------------------------------------------ jobs

    def _request_view(self, *_args) -> None:
        if self.inspection is None or self.module_box.currentIndex() < 0 or self.round_box.currentIndex() < 0:
            return
        if self._view_job is not None:
            self.window_.worker.cancel(self._view_job)  # superseded: cancelled if it has not started
        self._request += 1
        self._view_job = self.window_.worker.submit(
            "Attention view",
            view_job(self.inspection, self.previous, module=self.module_box.currentIndex(),
                     round_=self.round_box.currentIndex(), query=self.query, request=self._request))

    def _on_job_finished(self, job_id: int, result) -> None:
        if job_id == self._view_job and isinstance(result, ModuleView):
            self._view_job = None
            if result.request == self._request:
                self._show_view(result)

    def _on_job_ended(self, job_id: int, *_args) -> None:
        if job_id == self._view_job:
            self._view_job = None
        if job_id == self._inspect_job:
            self._inspect_job = None
            self._update_state()

    # ------------------------------------------------------------------ showing

    def _update_state(self) -> None:
        win = self.window_
        has_doc = win.doc is not None
        running = self._inspect_job is not None
        if running and self.inspect_button.hasFocus():
            self.inspect_button.clearFocus()  # rather than Qt moving it to the seed box
        self.inspect_button.setEnabled(has_doc and not running)
        self.rehash_button.setEnabled(has_doc and not running and self.inspection is not None)
        self.inspect_button.setText("Inspecting…" if running else "Inspect")
        self.content.setVisible(self.inspection is not None)
        if self.inspection is None:
            self.info_label.setText("Inspecting…" if running else READY_HINT if has_doc else HINT)
            return
        ins, res = self.inspection, self.inspected
        if not ins.modules:
            self.info_label.setText(f"{res.model_name} has no sparse-attention module: nothing to inspect")
            return
        cap = ins.modules[max(self.module_box.currentIndex(), 0)]
        m = cap.buckets.buckets
        hashing = (f"{m} buckets × {cap.n_hashes} rounds, chunk {cap.chunk}" if m
                   else f"one chunk (image smaller than a chunk): dense attention, {cap.n_hashes} rounds")
        self.info_label.setText(f"{res.model_name} · seed {ins.seed} · {cap.width}×{cap.height} LR · {hashing}")

    def _show_view(self, view: ModuleView) -> None:
        self.view = view
        self._update_state()
        if view.change is not None and view.change_seeds is not None:
            c = view.change
            a, b = view.change_seeds
            self.change_label.setText(
                f"Seed {a} → {b}: {c.changed:,} of {c.total:,} pixels ({c.fraction:.0%}) changed bucket; "
                f"{c.pairs_kept:.0%} of pixel pairs sharing a bucket still share one")
            self.change_label.setToolTip("Bucket ids differ between rotations, so each old bucket is matched to the "
                                         "new bucket that received most of its pixels")
            self.change_label.show()
        else:
            self.change_label.hide()
        qv = view.query
        self.query_hint.setVisible(qv is None)
        self.numbers.setVisible(qv is not None)
        self.table.setVisible(qv is not None)
        self.heat_glw.setVisible(qv is not None)
        for v in (self.sparse_view, self.dense_view):
            v.caption.setVisible(qv is not None)
        if qv is None:
            self.query_title.setText("Query")
            for v in (self.sparse_view, self.dense_view):
                v.heat.clear()
                v.marker.hide()
                v.window.hide()
        else:
            self._show_query(view, qv)
        self._show_overlay()
        self._show_legend()
        self.viewShown.emit()

    def _show_query(self, view: ModuleView, qv: QueryView) -> None:
        r = view.round
        row = qv.rows[r]
        self.query_title.setText(f"Query: LR pixel x {qv.x}, y {qv.y}")
        self.values["bucket"].setText(str(row.bucket))
        self.values["size"].setText(f"{row.size:,}")
        self.values["attended"].setText(f"{row.attended:,}")
        self.values["prob"].setText(f"{row.prob:.3f}")
        self.values["entropy"].setText(f"{qv.q.entropy:.2f} nats")
        self.values["nonlocal"].setText(f"{qv.q.nonlocal_share:.0%}")
        self.table.blockSignals(True)
        self.table.setRowCount(len(qv.rows))
        for i, rr in enumerate(qv.rows):
            texts = (str(rr.round + 1), str(rr.bucket), f"{rr.size:,}", f"{rr.prob:.3f}", f"{rr.top_weight:.3g}")
            for j, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, item)
        self.table.selectRow(r)
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        self.table.setFixedHeight(height)

        h, w = qv.q.combined.shape
        rect = QRectF(0, 0, w, h)
        y0, y1, x0, x1 = qv.window
        if not self._heat_fitted:
            self._fit_heat_height()
            self.heat_glw.ci.layout.activate()
            self.sparse_view.vb.setRange(rect, padding=0)
            self._heat_fitted = True
        for v, rgba in ((self.sparse_view, qv.overlays["combined"]), (self.dense_view, qv.overlays["dense"])):
            _set_rgba(v.heat, rgba, rect)
            v.window.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            v.window.show()
            v.marker.place(qv.x, qv.y, 1)
        s, d = qv.sparse_stats, qv.dense_stats
        self.sparse_view.caption.setText(
            f"entropy {s.entropy:.2f} / {s.max_entropy:.2f} nats\n"
            f"non-local {s.nonlocal_share:.0%} · top {s.top_weight:.3g}")
        self.sparse_view.caption.setToolTip(
            f"Entropy of the combined sparse attention (nats); {s.max_entropy:.2f} would be uniform over all pixels")
        self.dense_view.caption.setText(
            f"entropy {d.entropy:.2f} / {d.max_entropy:.2f} nats\n"
            f"non-local {d.nonlocal_share:.0%} · {qv.coverage:.0%} on sparse keys")
        self.dense_view.caption.setToolTip("Share of the dense attention's weight that falls on pixels the sparse "
                                           "attention attended in at least one round")

    @property
    def sparse_weights(self) -> np.ndarray | None:
        """The combined sparse attention shown in the left heatmap (H, W)."""
        return None if self.view is None or self.view.query is None else self.view.query.q.combined

    @property
    def dense_weights(self) -> np.ndarray | None:
        return None if self.view is None or self.view.query is None else self.view.query.dense

    def _overlay_rgba(self) -> np.ndarray | None:
        view, key = self.view, self.overlay_key()
        if view is None or key == "none":
            return None
        if key == "buckets":
            return view.bucket_rgba
        return view.query.overlays[key] if view.query is not None else None

    def _show_overlay(self, *_args) -> None:
        self._sync_compare()
        self._show_legend()

    def _show_legend(self) -> None:
        view, key = self.view, self.overlay_key()
        if view is None:
            return
        if key == "buckets" or key == "none" or (key in QUERY_OVERLAYS and view.query is None):
            self.legend_title.setText(f"Bucket sizes (module {view.module + 1}, round {view.round + 1})")
            self.legend_stack.setCurrentWidget(self.bars_page)
            self._show_bars(view)
        elif key in ("round", "combined", "dense"):
            qv = view.query
            self.legend_title.setText("Attention weight (log scale)")
            self.legend_title.setToolTip("One scale for every attention map of this query: sparse per round, "
                                         "combined and dense")
            legend = np.ascontiguousarray(qv.legend)
            qimage = QImage(legend.data, legend.shape[1], legend.shape[0], legend.strides[0],
                            QImage.Format.Format_RGBA8888).copy()
            self.colorbar_image.setPixmap(QPixmap.fromImage(qimage))
            self.colorbar_low.setText(f"≤ {qv.vmax * 1e-3:.2g}")
            self.colorbar_high.setText(f"{qv.vmax:.3g}")
            self.legend_stack.setCurrentWidget(self.colorbar)
        else:
            qv = view.query
            row = qv.rows[view.round]
            if key == "shared":
                color, text = SHARED_COLOR, f"pixels in the query's bucket {row.bucket}: {row.size:,}"
            else:
                color, text = ATTENDED_COLOR, (f"the query's keys (its own and the two adjacent chunks of "
                                               f"{view.chunk}): {row.attended:,} pixels")
            self.legend_title.setText(f"Legend (round {view.round + 1})")
            swatch = "#%02x%02x%02x" % color
            self.legend_text.setText(f'<span style="color:{swatch}; font-size:large">■</span> {text}')
            self.legend_stack.setCurrentWidget(self.legend_text)
        page = self.legend_stack.currentWidget()
        page.layout().activate() if page.layout() is not None else None
        self.legend_stack.setFixedHeight(page.heightForWidth(self.legend_stack.width())
                                         if page.hasHeightForWidth() else page.sizeHint().height())

    def _show_bars(self, view: ModuleView) -> None:
        pal = self.palette()
        brushes = [pg.mkBrush(*map(int, c)) for c in view.palette]
        xs = np.arange(view.buckets)
        self.bars.setOpts(x=xs, height=view.bar_heights, width=0.85, brushes=brushes, pen=pg.mkPen(None))
        self.bar_plot.getAxis("left").setTicks([view.bar_ticks, []])
        qv = view.query
        if qv is not None:
            b = qv.rows[view.round].bucket
            outline = pg.mkPen(pal.color(QPalette.ColorRole.WindowText), width=2)
            self.bar_highlight.setOpts(x=[b], height=[view.bar_heights[b]], width=0.85,
                                       brushes=[brushes[b]], pen=outline)
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

    # ------------------------------------------------------------------ compare view overlays

    def _sync_compare(self) -> None:
        """Attach overlays (LR, NLSN) and markers (all panels) to the compare view's current view
        boxes, or take them off when the dock is hidden or there is nothing to show."""
        compare = self.window_.compare
        keys = compare.panel_keys()
        want = self._active and self.inspection is not None
        for key in list(self._attached):
            att = self._attached[key]
            if not want or key not in keys or compare.view_box(key) is not att.vb:
                if att.overlay is not None:
                    att.vb.removeItem(att.overlay)
                att.marker.remove()
                del self._attached[key]
        if not want:
            return
        rgba = self._overlay_rgba()
        scale = self.inspection.scale
        for key in keys:
            att = self._attached.get(key)
            if att is None:
                vb = compare.view_box(key)
                overlay = None
                if key in OVERLAY_PANELS:
                    overlay = _rgba_image_item()
                    overlay.setZValue(20)
                    vb.addItem(overlay, ignoreBounds=True)
                att = self._attached[key] = _Attached(vb=vb, overlay=overlay, marker=_Marker(vb))
            if att.overlay is not None:
                if rgba is None:
                    att.overlay.hide()
                else:
                    h, w = rgba.shape[:2]
                    _set_rgba(att.overlay, rgba, QRectF(0, 0, w * scale, h * scale))
                    att.overlay.setOpacity(self.opacity_slider.value() / 100.0)
                    att.overlay.show()
        self._place_markers()

    def _place_markers(self) -> None:
        scale = self.inspection.scale if self.inspection is not None else 1
        for att in self._attached.values():
            if self.query is None:
                att.marker.hide()
            else:
                y, x = self.query
                att.marker.place(x * scale, y * scale, scale)

    def _apply_opacity(self, *_args) -> None:
        value = self.opacity_slider.value()
        self.opacity_label.setText(f"{value} %")
        for att in self._attached.values():
            if att.overlay is not None:
                att.overlay.setOpacity(value / 100.0)

    # ------------------------------------------------------------------ clicks

    def _on_pixel_clicked(self, key: str, x: float, y: float) -> None:
        """A click on a compare panel (output pixels) picks the LR pixel under it."""
        if not self._active or self.inspection is None:
            return
        s = self.inspection.scale
        self.select_query(math.floor(y / s), math.floor(x / s))

    def _on_heat_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.inspection is None:
            return
        for view in (self.sparse_view, self.dense_view):
            if view.vb.sceneBoundingRect().contains(ev.scenePos()):
                pt = view.vb.mapSceneToView(ev.scenePos())
                cap = self.inspection.modules[0]
                if 0 <= pt.x() < cap.width and 0 <= pt.y() < cap.height:
                    self.select_query(math.floor(pt.y()), math.floor(pt.x()))
                return

    def _on_table_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() != self.round_box.currentIndex():
            self.round_box.setCurrentIndex(rows[0].row())
