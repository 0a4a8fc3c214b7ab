"""The attention inspector: hash buckets and per-pixel attention of the NLSA modules.

"Inspect" runs one forward of the selected model on the LR image on the worker thread and keeps
every NLSA module's embeddings and buckets. For a module and a hash round the panel shows the
bucket map over the compare view's LR and NLSN panels (through its overlay API), and for a clicked
query pixel what that forward did with it: the pixels of its bucket, the keys it attended to, its
attention per round and combined, beside the dense (full non-local) attention of the same embeddings.

The state is :class:`~nlsn_gui.state.inspector.InspectorState`; every number and colour comes from
the jobs of :mod:`nlsn_gui.tasks.inspect`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nlsn_gui.qt.host import Host
from nlsn_gui.qt.wheel import guard_wheel
from nlsn_gui.qt.inspector import export as overlay_export
from nlsn_gui.qt.inspector.attribution import AttributionSection
from nlsn_gui.qt.inspector.heatmaps import HeatmapPair
from nlsn_gui.qt.inspector.legend import Legend
from nlsn_gui.qt.inspector.widgets import compact_form, section_title
from nlsn_gui.qt.inspector.numbers import QueryNumbers
from nlsn_gui.qt.inspector.overview import OverviewDialog
from nlsn_gui.state.inspector import CLICK_HINT, HINT, OVERLAY_PANELS, OVERLAYS, InspectorState
from nlsn_gui.state.jobs import Job
from nlsn_gui.tasks.inspect import Inspected, ModuleView, inspect_job, view_job

DEFAULT_OPACITY = 70  # percent


class InspectorPanel(QWidget):
    """Dock contents: inspect, choose module/round/overlay, read a query's attention."""

    viewShown = Signal()  # a module view (and query) was drawn; for tests and screenshots

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.state = InspectorState()
        self.overview: OverviewDialog | None = None
        self.setMinimumWidth(280)  # a 1024-px window: the dock and the compare toolbar both fit
        self._build()
        host.compare.pixelClicked.connect(self._on_pixel_clicked)
        self._update_state()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 6, 8, 8)
        root.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.inspect_button = QPushButton("Inspect")
        self.inspect_button.setToolTip("Run the model once on the LR image and record every sparse-attention module")
        self.inspect_button.clicked.connect(lambda: self.inspect())
        top.addWidget(self.inspect_button)
        seed_label = QLabel("Seed")
        top.addWidget(seed_label)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("Seed of the random rotations that hash the pixels into buckets")
        self.seed_box.setMinimumWidth(self.seed_box.fontMetrics().horizontalAdvance("0000") + 30)  # fits 1024 px
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
        content.addLayout(self._build_form())
        self.change_label = QLabel("")
        self.change_label.setWordWrap(True)
        self.change_label.hide()
        content.addWidget(self.change_label)
        self.query_title = section_title("Query")
        content.addWidget(self.query_title)
        self.query_hint = QLabel(CLICK_HINT)
        self.query_hint.setWordWrap(True)
        content.addWidget(self.query_hint)
        self.numbers = QueryNumbers()
        self.numbers.roundSelected.connect(lambda r: r != self.round_box.currentIndex() and self.set_round(r))
        content.addWidget(self.numbers)
        self.values, self.table = self.numbers.values, self.numbers.table
        self.heatmaps = HeatmapPair()
        self.heatmaps.querySelected.connect(self.select_query)
        content.addWidget(self.heatmaps)
        self.legend = Legend()
        content.addWidget(self.legend)
        bottom = QHBoxLayout()
        self.overview_button = QPushButton("Overview…")
        self.overview_button.setToolTip("Every module and round at once, with statistics over all pixels")
        self.overview_button.clicked.connect(self.show_overview)
        bottom.addWidget(self.overview_button)
        bottom.addStretch(1)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the overlay shown over the LR image, at the LR's own resolution, "
                                      "the query pixel marked")
        self.export_button.clicked.connect(self.export_dialog)
        bottom.addWidget(self.export_button)
        content.addLayout(bottom)
        self.attribution = AttributionSection(
            self.host, query=lambda: self.state.query,
            model_path=lambda: self.state.inspected.model_path if self.state.inspected else None,
            backdrop=lambda: self.state.inspected.backdrop if self.state.inspected else None)
        self.attribution.shown.connect(self._show_overlay)
        content.addWidget(self.attribution)
        guard_wheel(self, self.seed_box, self.module_box, self.round_box, self.overlay_box, self.opacity_slider,
                    self.attribution.other_box, self.attribution.region_box, self.attribution.steps_box,
                    self.attribution.box_size)
        self._apply_theme()
        self._apply_opacity()

    def _build_form(self) -> QFormLayout:
        form = compact_form()
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
        self.module_box.currentIndexChanged.connect(self._request_view)
        self.round_box.currentIndexChanged.connect(self._request_view)
        self.overlay_box.currentIndexChanged.connect(self._show_overlay)
        self.opacity_slider.valueChanged.connect(self._apply_opacity)
        return form

    # ------------------------------------------------------------------ theme

    def _apply_theme(self) -> None:
        pal = self.palette()
        self.heatmaps.apply_theme(pal)
        self.attribution.apply_theme(pal)
        self.legend.apply_theme(pal)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        for label in (self.info_label, self.query_hint):
            label.setStyleSheet(f"color: {dim.name()}")
        if self.state.view is not None:
            self._show_legend()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(self, "legend"):
            self._apply_theme()
        super().changeEvent(event)

    # ------------------------------------------------------------------ the window's calls

    def set_active(self, active: bool) -> None:
        """The dock was shown or hidden: overlays and markers follow it."""
        self.state.active = bool(active)
        self._sync_compare()

    def document_changed(self) -> None:
        """A new image (or new LR) is shown: the inspection no longer applies."""
        for job in self.state.document_changed():
            self.host.cancel(job)
        self.attribution.document_changed()
        if self.overview is not None:
            self.overview.refresh()
        self._sync_compare()
        self._update_state()

    def _show_inspection(self, result: Inspected) -> None:
        if not self.state.accept_inspection(result):
            return  # for an image that is no longer shown
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
        self.heatmaps.set_backdrop(result.backdrop)
        self.attribution.refresh_models()
        if self.overview is not None and self.overview.isVisible():
            self.overview.set_query(self.state.query)
            self.overview.refresh()
        n = len(ins.modules)
        self.host.status(f"Inspected {n} sparse-attention module{'s' if n != 1 else ''} with seed {ins.seed} "
                         f"in {result.seconds:.1f} s on {result.device}")
        self._update_state()
        self._request_view()

    # ------------------------------------------------------------------ actions

    def inspect(self, *, seed: int | None = None) -> None:
        sel = self.host.selection()
        if sel.document is None or sel.document.comparison is None:
            self.host.status("Open an image first (Ctrl+O)")
            return
        if sel.model is None:
            self.host.error(sel.no_model_message())
            return
        if self.state.inspect_job is not None:
            self.host.cancel(self.state.inspect_job)
        seed = self.seed_box.value() if seed is None else int(seed)
        self.state.inspect_job = self.host.submit(
            Job("inspect", f"Inspecting the sparse attention (seed {seed})", done=self._show_inspection,
                failed=self._inspect_ended, cancelled=self._inspect_ended),
            inspect_job(sel.document.comparison.lr, model=sel.model, scale=sel.scale, device=sel.device, seed=seed,
                        generation=self.state.generation))
        self._update_state()

    def _inspect_ended(self, message: str | None = None) -> None:
        self.state.inspect_job = None
        if message is not None:
            self.host.error(message)
        self._update_state()

    def rehash(self) -> None:
        """Inspect again with the next seed; the bucket changes against this seed are shown."""
        self.seed_box.setValue(self.state.rehash_seed(self.seed_box.value()))
        self.inspect()

    def select_query(self, y: int, x: int) -> None:
        """Query LR pixel (y, x) (row, column), clamped to the image."""
        if self.state.select_query(y, x):
            self._sync_compare()
            self._request_view()
            if self.overview is not None:
                self.overview.set_query(self.state.query)

    def show_overview(self) -> None:
        """The Attention Overview window: all modules and rounds of this inspection."""
        if self.overview is None:
            self.overview = OverviewDialog(self, self.host, inspected=lambda: self.state.inspected)
            self.overview.cellSelected.connect(self._show_cell)
        self.overview.set_query(self.state.query)
        self.overview.show()
        self.overview.raise_()
        self.overview.refresh()

    def _show_cell(self, module: int, round_: int) -> None:
        self.module_box.setCurrentIndex(module)
        self.round_box.setCurrentIndex(round_)

    def set_round(self, index: int) -> None:
        self.round_box.setCurrentIndex(index)

    def set_overlay(self, key: str) -> None:
        self.overlay_box.setCurrentIndex(self.overlay_box.findData(key))

    def overlay_key(self) -> str:
        return str(self.overlay_box.currentData())

    def export_dialog(self) -> None:
        overlay_export.export_dialog(self)

    def export_name(self) -> str:
        return overlay_export.export_name(self)

    def export_png(self, path: Path) -> bool:
        return overlay_export.export_png(self, path)

    # ------------------------------------------------------------------ views

    def _request_view(self, *_args) -> None:
        st = self.state
        if st.inspection is None or self.module_box.currentIndex() < 0 or self.round_box.currentIndex() < 0:
            return
        if st.view_job is not None:
            self.host.cancel(st.view_job)  # superseded: dropped if it has not started
        st.view_job = self.host.submit(
            Job("view", "Attention view", window=False, done=self._view_done, failed=self._view_ended,
                cancelled=self._view_ended),
            view_job(st.inspection, st.previous, module=self.module_box.currentIndex(),
                     round_=self.round_box.currentIndex(), query=st.query, request=st.next_request()))

    def _view_ended(self, _message: str | None = None) -> None:
        self.state.view_job = None

    def _view_done(self, view: ModuleView) -> None:
        self.state.view_job = None
        if self.state.accept_view(view):
            self._show_view(view)

    def _update_state(self) -> None:
        st = self.state
        has_doc = self.host.selection().document is not None
        if st.running and self.inspect_button.hasFocus():
            self.inspect_button.clearFocus()  # rather than Qt moving it to the seed box
        self.inspect_button.setEnabled(has_doc and not st.running)
        self.rehash_button.setEnabled(has_doc and not st.running and st.inspection is not None)
        self.inspect_button.setText("Inspecting…" if st.running else "Inspect")
        self.content.setVisible(st.inspection is not None)
        self.info_label.setText(st.info_text(has_document=has_doc, module=self.module_box.currentIndex()))
        self.attribution.update_enabled(inspected=st.inspection is not None)

    def _show_view(self, view: ModuleView) -> None:
        self._update_state()
        if view.change is not None and view.change_seeds is not None:
            c, (a, b) = view.change, view.change_seeds
            self.change_label.setText(
                f"Seed {a} → {b}: {c.changed:,} of {c.total:,} pixels ({c.fraction:.0%}) changed bucket; "
                f"{c.pairs_kept:.0%} of pixel pairs sharing a bucket still share one")
            self.change_label.setToolTip("Bucket ids differ between rotations, so each old bucket is matched to the "
                                         "new bucket that received most of its pixels")
        self.change_label.setVisible(view.change is not None and view.change_seeds is not None)
        qv = view.query
        self.query_hint.setVisible(qv is None)
        self.numbers.setVisible(qv is not None)
        if qv is None:
            self.query_title.setText("Query")
            self.heatmaps.clear()
        else:
            self.query_title.setText(f"Query: LR pixel x {qv.x}, y {qv.y}")
            self.numbers.show_query(qv, view.round)
            self.heatmaps.show_query(qv)
        self._show_overlay()
        self.viewShown.emit()

    def _show_overlay(self, *_args) -> None:
        self._sync_compare()
        self._show_legend()

    def _show_legend(self) -> None:
        if self.state.view is not None:
            key = self.overlay_key()
            self.legend.show(self.state.view, self.state.legend_kind(key), key)

    def _sync_compare(self) -> None:
        """Overlay (LR and NLSN panels) and marker (all panels) on the compare view, or nothing
        while the dock is hidden or there is nothing to show."""
        compare, st = self.host.compare, self.state
        if not st.active or st.inspection is None:
            compare.overlays.clear()
            return
        compare.overlays.set(self.overlay_rgba(), keys=OVERLAY_PANELS, scale=st.inspection.scale,
                             opacity=self.opacity_slider.value() / 100.0)
        marker = st.marker()
        if marker is None:
            compare.overlays.clear_marker()
        else:
            compare.overlays.set_marker(*marker)

    def overlay_rgba(self):
        """The overlay shown over the LR and NLSN panels: (H, W, 4) uint8, or None."""
        key = self.overlay_key()
        return self.attribution.state.overlay() if key == "lam" else self.state.overlay_rgba(key)

    def _apply_opacity(self, *_args) -> None:
        value = self.opacity_slider.value()
        self.opacity_label.setText(f"{value} %")
        self.host.compare.overlays.set_opacity(value / 100.0)

    def _on_pixel_clicked(self, _key: str, x: float, y: float) -> None:
        """A click on a compare panel (output pixels) picks the LR pixel under it."""
        pixel = self.state.lr_pixel(x, y) if self.state.active else None
        if pixel is not None:
            self.select_query(*pixel)
