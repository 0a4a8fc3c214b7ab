"""The inspector's attribution section: the LAM of the output box around the query pixel, for the
inspected model and, beside it, any other model the app can load.

Each map is the dimmed LR with the attribution over it on a log scale and the box outlined; the
two views are linked. The state is :class:`~nlsn_gui.state.attribution.AttributionState`; the
numbers and colours come from :mod:`nlsn_gui.tasks.attribute`.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nlsn_gui.qt.compare.overlays import cosmetic_pen, rgba_image_item, set_rgba
from nlsn_gui.qt.host import Host
from nlsn_gui.qt.inspector.fitting import KeptFit
from nlsn_gui.qt.inspector.legend import ColourBar
from nlsn_gui.qt.inspector.widgets import compact_form, section_title, small_maps
from nlsn_gui.state.attribution import HINT, REGIONS, AttributionState
from nlsn_gui.state.jobs import Job
from nlsn_gui.tasks.attribute import Attributed, attribute_job

BOX_COLOUR = QColor(120, 220, 255)


class _FreshComboBox(QComboBox):
    """A combo box that fills itself again (``refill()``) each time its list is opened."""

    def __init__(self, refill) -> None:
        super().__init__()
        self._refill = refill

    def showPopup(self) -> None:  # noqa: N802 - Qt override
        self._refill()
        super().showPopup()


class AttributionSection(QWidget):
    shown = Signal()  # maps drawn; for tests and screenshots

    def __init__(self, host: Host, *, query, model_path, backdrop) -> None:
        """``query()``: the inspector's (y, x) or None; ``model_path()``: the inspected model;
        ``backdrop()``: the dimmed LR (H, W, 3) uint8 or None."""
        super().__init__()
        self.host, self._query, self._model_path, self._backdrop = host, query, model_path, backdrop
        self.state = AttributionState()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(section_title("Attribution (LAM)"))
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        layout.addLayout(self._build_form())
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.glw = small_maps(150)
        captions = QHBoxLayout()
        captions.setSpacing(8)
        self.views = [self._view(col, captions) for col in range(2)]
        self.views[1][0].setXLink(self.views[0][0])
        self.views[1][0].setYLink(self.views[0][0])
        layout.addWidget(self.glw)
        layout.addLayout(captions)
        self.colour_bar = ColourBar(low="10⁻³ of the maximum", high="maximum")
        layout.addWidget(self.colour_bar)
        self._maps = [self.glw, self.colour_bar]
        self.kept = KeptFit(self, *(vb for vb, *_items in self.views))  # the box's surroundings, until the user moves
        self.clear()

    def _build_form(self) -> QFormLayout:
        form = compact_form()
        self.other_box = _FreshComboBox(self.refresh_models)  # models opened since are listed too
        self.other_box.setToolTip("A second model to attribute the same box for (NLSN or any model the app loads)")
        self.other_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.other_box.setMinimumContentsLength(10)
        form.addRow("Beside", self.other_box)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.region_box = QComboBox()
        for label, pixels in REGIONS:
            self.region_box.addItem(label, pixels)
        self.region_box.setToolTip("The LR pixels the models see: the box and 32 or 64 LR pixels around it is "
                                   "faster; the whole image lets non-local attention reach everything, as the paper")
        row.addWidget(self.region_box, 1)
        steps_label = QLabel("Steps")
        row.addWidget(steps_label)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(2, 400)
        self.steps_box.setValue(self.state.steps)
        self.steps_box.setToolTip("Points on the blur path (50 as the LAM paper; fewer: faster, rougher)")
        steps_label.setBuddy(self.steps_box)
        row.addWidget(self.steps_box)
        form.addRow("Region", row)
        buttons = QHBoxLayout()
        self.box_size = QSpinBox()
        self.box_size.setRange(4, 128)
        self.box_size.setSingleStep(4)
        self.box_size.setSuffix(" px")
        self.box_size.setValue(self.state.box_size)
        self.box_size.setToolTip("Side of the output box around the query pixel (16 as the LAM paper)")
        buttons.addWidget(self.box_size)
        buttons.addStretch(1)
        self.button = QPushButton("Attribute")
        self.button.setToolTip("Compute the local attribution map of the output box around the query pixel")
        self.button.clicked.connect(self.attribute)
        buttons.addWidget(self.button)
        form.addRow("Box", buttons)
        return form

    def _view(self, col: int, captions: QHBoxLayout):
        vb = self.glw.addViewBox(row=0, col=col, lockAspect=True, invertY=True, enableMenu=False)
        backdrop, heat = rgba_image_item(), rgba_image_item()
        heat.setZValue(10)
        vb.addItem(backdrop)
        vb.addItem(heat)
        box = QGraphicsRectItem()
        box.setPen(cosmetic_pen(BOX_COLOUR, 1.2))
        box.setZValue(30)
        vb.addItem(box, ignoreBounds=True)
        caption = QLabel("")
        caption.setWordWrap(True)
        caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        caption.setToolTip("DI: the diffusion index, (1 - Gini) × 100 of the map: larger when more pixels count. "
                           "Far: the share of the attribution more than 3 LR pixels from the box")
        captions.addWidget(caption, 1)
        return vb, backdrop, heat, box, caption

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.kept.resized()

    def apply_theme(self, pal: QPalette) -> None:
        self.glw.setBackground(pal.color(QPalette.ColorRole.Window))
        for vb, *_ in self.views:
            vb.setBorder(pg.mkPen(pal.color(QPalette.ColorRole.Mid), width=1))
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        for label in (self.hint, self.summary):
            label.setStyleSheet(f"color: {dim.name()}")

    # ------------------------------------------------------------------ the inspector's calls

    def refresh_models(self) -> None:
        """The second model's choices: none, then every model of the scale but the inspected one."""
        sel = self.host.selection()
        current = self.other_box.currentData()
        self.other_box.blockSignals(True)
        self.other_box.clear()
        self.other_box.addItem("No second model", None)
        for entry in self.host.models(sel.scale):
            if entry.path != self._model_path():
                self.other_box.addItem(entry.label, entry.path)
        index = self.other_box.findData(current)
        self.other_box.setCurrentIndex(max(index, 0))
        self.other_box.blockSignals(False)

    def set_other(self, path: str | None) -> None:
        self.refresh_models()
        self.other_box.setCurrentIndex(max(self.other_box.findData(path), 0))

    def document_changed(self) -> None:
        for job in self.state.document_changed():
            self.host.cancel(job)
        self.clear()

    def update_enabled(self, *, inspected: bool) -> None:
        ok = inspected and self._query() is not None and not self.state.running
        self.button.setEnabled(ok)
        self.button.setText("Attributing…" if self.state.running else "Attribute")
        self.button.setToolTip("Compute the local attribution map of the output box around the query pixel"
                               if ok or self.state.running else "Click a query pixel first")

    # ------------------------------------------------------------------ the job

    def attribute(self) -> None:
        sel, query, model = self.host.selection(), self._query(), self._model_path()
        if sel.document is None or sel.document.comparison is None or query is None or model is None:
            self.host.status("Inspect an image and click a query pixel first")
            return
        lr = sel.document.comparison.lr
        self.state.box_size = self.box_size.value()
        box = self.state.box(query, scale=sel.scale, lr_width=lr.width, lr_height=lr.height)
        models = [model] + ([self.other_box.currentData()] if self.other_box.currentData() else [])
        if self.state.job is not None:
            self.host.cancel(self.state.job)
        self.state.steps = self.steps_box.value()
        self.state.job = self.host.submit(
            Job("attribute", f"Attributing the {box[2]}×{box[3]} box at ({box[0]}, {box[1]})", done=self._done,
                failed=self._ended, cancelled=self._ended),
            attribute_job(lr, models=models, box=box, scale=sel.scale, device=sel.device, seed=sel.seed,
                          steps=self.state.steps, context=self.region_box.currentData(),
                          generation=self.state.generation, request=self.state.next_request()))
        self.update_enabled(inspected=True)

    def _ended(self, message: str | None = None) -> None:
        self.state.job = None
        if message is not None:
            self.host.error(message)
        self.update_enabled(inspected=True)

    def _done(self, result: Attributed) -> None:
        if not self.state.accept(result):
            return
        self.update_enabled(inspected=True)
        self.show_result()
        self.host.status(self.state.summary())

    def clear(self) -> None:
        for widget in self._maps:
            widget.hide()
        for vb, _backdrop, heat, box, caption in self.views:
            heat.clear()
            box.hide()
            caption.hide()
        self.summary.hide()

    def show_result(self) -> None:
        result, backdrop = self.state.result, self._backdrop()
        if result is None or backdrop is None:
            self.clear()
            return
        h, w = backdrop.shape[:2]
        rect = QRectF(0, 0, w, h)
        scale = self.host.selection().scale
        x, y, bw, bh = result.box
        for col, (vb, back, heat, box, caption) in enumerate(self.views):
            shown = col < len(result.models)
            vb.setVisible(shown)
            caption.setVisible(shown)
            if not shown:
                continue
            set_rgba(back, backdrop, rect)
            set_rgba(heat, result.models[col].overlay, rect)
            box.setRect(QRectF(x / scale, y / scale, bw / scale, bh / scale))
            box.show()
            caption.setText(self.state.captions()[col])
        for widget in self._maps:
            widget.show()
        self.glw.ci.layout.activate()
        seen = QRectF(*self.state.view_rect(scale=scale))  # around the box, within what the models saw
        self.kept.fit(seen)
        cell_w = max((self.glw.width() - 4) / 2.0, 40.0)
        self.glw.setFixedHeight(min(max(int(cell_w * seen.height() / seen.width()) + 4, 60), 400))
        self.colour_bar.show_bar(result.legend)
        self.summary.setText(self.state.summary())
        self.summary.show()
        self.shown.emit()
