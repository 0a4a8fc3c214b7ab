"""The training panel's plots: loss (raw and smoothed, log scale), validation PSNR (best marked),
learning rate and SSIM of the run in view, with other runs' loss and PSNR overlaid.

Four separate plot widgets: each repaints alone, and while a run is live the panel's timer redraws
one of them per tick, so no single repaint holds the UI thread long (the worker thread competes for
the GIL: a repaint costs several times what it costs when idle).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from core.train import HistorySnapshot, RunHistory
from nlsn_gui.state.store import Store, read_int
from nlsn_gui.state.training import LIVE_COLOUR, SETTINGS

RUN_COLOURS = [QColor(c) for c in ("#ff8c1a", "#2ca02c", "#e0443e", "#9467bd",
                                    "#c49c30", "#e377c2", "#17becf", "#8c8c8c")]
ORDER = ("loss", "psnr", "lr", "ssim")


class LogAxis(pg.AxisItem):
    """A log axis labelled at 1, 2 and 5 times each power of ten only, so labels never pile up."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802,N803 - pyqtgraph API
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        low, high = math.floor(minVal), math.ceil(maxVal)
        decades = [float(d) for d in range(low, high + 1) if minVal <= d <= maxVal]
        steps = (2, 5) if (maxVal - minVal) < 3 and size > 80 else ()
        minor = [d + math.log10(m) for d in range(low, high) for m in steps if minVal <= d + math.log10(m) <= maxVal]
        if len(decades) + len(minor) < 2:  # less than a decade in view: label a linear-looking set
            minor += [d + math.log10(m) for d in range(low, high) for m in (1.5, 3, 4, 7)
                      if minVal <= d + math.log10(m) <= maxVal]
        return [(1.0, decades), (None, sorted(minor))]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        return [f"{10 ** v:.3g}" for v in values]


class TrainingPlots(QWidget):
    smoothingChanged = Signal(float)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._build_options())
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.plot_widgets: dict[str, pg.PlotWidget] = {}
        self.loss_plot = self._plot("loss", "Loss (L1): raw and smoothed", grid, 0, 0, log_axis=True)
        self.loss_plot.setLogMode(y=True)
        self.psnr_plot = self._plot("psnr", "Validation PSNR (dB)", grid, 0, 1)
        self.lr_plot = self._plot("lr", "Learning rate", grid, 1, 0)
        self.ssim_plot = self._plot("ssim", "Validation SSIM", grid, 1, 1)
        self._empty_ranges()
        self.loss_legend = self.loss_plot.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.psnr_legend = self.psnr_plot.addLegend(offset=(-8, -8), labelTextSize="8pt")
        live, raw = QColor(LIVE_COLOUR), QColor(LIVE_COLOUR)
        raw.setAlpha(90)
        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen(raw, width=1)),
            "loss_ema": self.loss_plot.plot(pen=pg.mkPen(live, width=2)),
            "lr": self.lr_plot.plot(pen=pg.mkPen(live, width=2)),
            "psnr": self.psnr_plot.plot(pen=pg.mkPen(live, width=2), symbol="o", symbolSize=5, symbolBrush=live,
                                        symbolPen=None),
            "ssim": self.ssim_plot.plot(pen=pg.mkPen(live, width=2), symbol="o", symbolSize=5, symbolBrush=live,
                                        symbolPen=None),  # a first validation is one point: it must show
            "best": self.psnr_plot.plot(pen=None, symbol="star", symbolSize=16, symbolBrush=QColor("#ffcc00"),
                                        symbolPen=pg.mkPen(QColor("#a07800"))),
        }
        for curve in self.curves.values():
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)
        layout.addLayout(grid, 1)
        self.history: RunHistory | None = None
        self._overlay_items: list = []  # (plot, item, run name)
        self._dirty: set[str] = set()  # plots whose data changed and wait for their turn to redraw
        self._plotted: dict[str, int] = {}
        self._last_plot = ""
        self._update_legends()
        self._smoothing_changed(self.smooth_slider.value())

    def _build_options(self) -> QHBoxLayout:
        options = QHBoxLayout()
        options.setSpacing(6)
        self.run_title = QLabel("No run yet")
        font = self.run_title.font()
        font.setBold(True)
        self.run_title.setFont(font)
        self.run_title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.run_title.setMinimumWidth(60)  # a long run name gives way to the plots' options
        self.run_title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        options.addWidget(self.run_title, 1)
        options.addWidget(QLabel("Smoothing"))
        self.smooth_slider = QSlider(Qt.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(read_int(self.store, f"{SETTINGS}/smoothing", 80))
        self.smooth_slider.setFixedWidth(110)
        self.smooth_slider.setToolTip("Exponential moving average of the loss: weight of the past")
        self.smooth_slider.valueChanged.connect(self._smoothing_changed)
        options.addWidget(self.smooth_slider)
        self.smooth_label = QLabel()
        self.smooth_label.setMinimumWidth(30)
        options.addWidget(self.smooth_label)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setChecked(True)
        self.log_check.setToolTip("Loss on a logarithmic axis")
        self.log_check.toggled.connect(lambda on: self.loss_plot.setLogMode(y=on))
        options.addWidget(self.log_check)
        return options

    def _plot(self, key: str, title: str, grid: QGridLayout, row: int, col: int, *,
              log_axis: bool = False) -> pg.PlotItem:
        widget = pg.PlotWidget(axisItems={"left": LogAxis("left")} if log_axis else None)
        widget.setMinimumSize(140, 110)
        grid.addWidget(widget, row, col)
        self.plot_widgets[key] = widget
        plot = widget.getPlotItem()
        plot.title_text = title
        plot.setTitle(title, size="9pt")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMenuEnabled(False)
        plot.getAxis("left").setWidth(48)
        plot.getViewBox().setDefaultPadding(0.04)
        return plot

    def _empty_ranges(self) -> None:
        """Plausible axes before the first point arrives (autorange resumes with the data)."""
        self.loss_plot.setXRange(0, 1000, padding=0)
        self.loss_plot.setYRange(-2, 0, padding=0.05)  # log10: 0.01 .. 1
        self.psnr_plot.setYRange(20, 40, padding=0.05)
        self.ssim_plot.setYRange(0.5, 1.0, padding=0.05)
        self.lr_plot.setYRange(0, 2e-4, padding=0.05)

    @property
    def smoothing(self) -> float:
        return self.smooth_slider.value() / 100.0

    def _smoothing_changed(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        self.store.setValue(f"{SETTINGS}/smoothing", value)
        self._dirty.add("loss")
        self.smoothingChanged.emit(self.smoothing)

    # ------------------------------------------------------------------ the run in view

    def show_history(self, history: RunHistory) -> None:
        self.history = history
        self._plotted = {}
        self._dirty = set(ORDER)
        name = history.run_dir.name if history.run_dir else "run"
        cfg = history.config
        detail = f"  ·  {cfg.get('preset')} ×{cfg.get('scale')}" if cfg else ""
        self.run_title.setText(f"{name}{detail}")
        self.run_title.setToolTip(str(history.run_dir or ""))
        for curve in self.curves.values():  # nothing of the run before: not its curves, nor its axes
            curve.setData([], [])
        self._set_title(self.psnr_plot, "Validation PSNR (dB)")
        self.lr_plot.getAxis("left").setTicks(None)
        self._lr_ticks = None
        self._empty_ranges()
        for plot in (self.loss_plot, self.psnr_plot, self.lr_plot, self.ssim_plot):
            plot.enableAutoRange(x=False, y=plot is not self.lr_plot)  # x: one step axis, set by _step_axis

    def mark(self, snap: HistorySnapshot) -> None:
        """Mark the plots whose data ``snap`` changed."""
        if len(snap.steps) != self._plotted.get("train") or snap.step != self._plotted.get("step"):
            self._dirty.update(("loss", "lr"))
        if len(snap.val_steps) != self._plotted.get("val"):
            self._dirty.update(("psnr", "ssim"))
        self._plotted.update(train=len(snap.steps), val=len(snap.val_steps), step=snap.step)

    def draw(self, snap: HistorySnapshot | None, *, all_of_them: bool) -> None:
        """Give the marked plots their data: one per call while training (the next in turn), else all."""
        while self._dirty and snap is not None and self.history is not None:
            start = (ORDER.index(self._last_plot) + 1) % 4 if self._last_plot in ORDER else 0
            key = next(ORDER[(start + i) % 4] for i in range(4) if ORDER[(start + i) % 4] in self._dirty)
            self._dirty.discard(key)
            self._last_plot = key
            self._draw_plot(key, snap)
            if not all_of_them:
                break

    def _step_axis(self, plot: pg.PlotItem, snap: HistorySnapshot) -> None:
        """All four plots over the same steps, from the data (linked view boxes would repaint all
        four whenever one is redrawn: four times the UI work while a run trains)."""
        last = max(int(snap.step), int(snap.steps[-1]) if len(snap.steps) else 0, 1)
        plot.setXRange(0, last, padding=0.03)

    def _draw_plot(self, key: str, snap: HistorySnapshot) -> None:
        self._step_axis({"loss": self.loss_plot, "lr": self.lr_plot, "ssim": self.ssim_plot,
                         "psnr": self.psnr_plot}[key], snap)
        if key == "loss":
            self.curves["loss"].setData(snap.steps, snap.losses)
            ema = self.history.ema(self.smoothing)  # may have grown since the snapshot
            n = min(len(ema), len(snap.steps))
            self.curves["loss_ema"].setData(snap.steps[:n], ema[:n])
        elif key == "lr":
            self.curves["lr"].setData(snap.steps, snap.lrs)
            rates = sorted({v for v in snap.lrs.tolist() if math.isfinite(v)})
            top = rates[-1] if rates else 0.0
            if top > 0:  # from zero, so a halving reads as one (and a constant rate gets an axis)
                self.lr_plot.setYRange(0, top * 1.15, padding=0)
            # A schedule of a few rates is labelled at those rates (a constant one: at itself and 0).
            few = tuple([0.0, *rates]) if 0 < len(rates) <= 4 else None
            if few != getattr(self, "_lr_ticks", None):  # a new set of ticks re-lays the axis out: only then
                self._lr_ticks = few
                self.lr_plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in few]] if few else None)
        elif key == "ssim":
            self.curves["ssim"].setData(snap.val_steps, snap.ssim)
        elif key == "psnr":
            self.curves["psnr"].setData(snap.val_steps, snap.psnr)
            if snap.best_step is not None:
                self.curves["best"].setData([snap.best_step], [snap.best_psnr])
                self._set_title(self.psnr_plot, f"Validation PSNR (dB): best {snap.best_psnr:.2f} at step "
                                                f"{snap.best_step:,}")
            else:
                self.curves["best"].setData([], [])
                self._set_title(self.psnr_plot, "Validation PSNR (dB)")

    def _set_title(self, plot: pg.PlotItem, text: str) -> None:
        if plot.title_text != text:
            plot.title_text = text
            plot.setTitle(text, size="9pt", color=pg.getConfigOption("foreground"))

    def plot_data(self, name: str) -> tuple:
        """(x, y) given to a curve: loss, loss_ema, lr, psnr, ssim or best."""
        data = self.curves[name].getOriginalDataset()
        return data if data[0] is not None else ((), ())

    # ------------------------------------------------------------------ other runs

    def set_overlays(self, runs: list[tuple[str, RunHistory]]) -> None:
        """Loss (smoothed) and PSNR of other runs, one colour each, over the run in view."""
        for plot, item, _name in self._overlay_items:
            plot.removeItem(item)
        self._overlay_items = []
        for index, (name, history) in enumerate(runs):
            colour = RUN_COLOURS[index % len(RUN_COLOURS)]
            snap = history.snapshot()
            if len(snap.steps):
                loss = self.loss_plot.plot(snap.steps, history.ema(self.smoothing), pen=pg.mkPen(colour, width=2))
                loss.setDownsampling(auto=True, method="peak")
                loss.setClipToView(True)
                self._overlay_items.append((self.loss_plot, loss, name))
            if len(snap.val_steps):
                psnr = self.psnr_plot.plot(snap.val_steps, snap.psnr, pen=pg.mkPen(colour, width=2), symbol="o",
                                           symbolSize=4, symbolBrush=colour, symbolPen=None)
                self._overlay_items.append((self.psnr_plot, psnr, name))
        self._update_legends()

    def has_overlays(self) -> bool:
        return bool(self._overlay_items)

    def _update_legends(self) -> None:
        """Legends only when runs are overlaid: they name the runs (the titles explain the rest)."""
        history = self.history
        current = history.run_dir.name if history is not None and history.run_dir else "this run"
        for plot, legend, curve in ((self.loss_plot, self.loss_legend, self.curves["loss_ema"]),
                                    (self.psnr_plot, self.psnr_legend, self.curves["psnr"])):
            legend.clear()
            overlays = [(item, name) for p, item, name in self._overlay_items if p is plot]
            if overlays:
                legend.addItem(curve, current)
                for item, name in overlays:
                    legend.addItem(item, name)
            legend.setVisible(bool(overlays))

    def overlay_data(self) -> dict[str, dict[str, tuple]]:
        """name -> {"loss"|"psnr": (x, y)} of the overlaid runs."""
        out: dict[str, dict[str, tuple]] = {}
        for plot, item, name in self._overlay_items:
            out.setdefault(name, {})["loss" if plot is self.loss_plot else "psnr"] = item.getOriginalDataset()
        return out

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.PaletteChange:  # the theme changed: plots follow it
            palette = self.palette()
            background, foreground = palette.color(QPalette.Base), palette.color(QPalette.Text)
            for view in self.plot_widgets.values():
                view.setBackground(background)
            for plot in (self.loss_plot, self.psnr_plot, self.lr_plot, self.ssim_plot):
                for axis in ("left", "bottom"):
                    plot.getAxis(axis).setPen(foreground)
                    plot.getAxis(axis).setTextPen(foreground)
                plot.setTitle(plot.title_text, size="9pt", color=foreground)
            for legend in (self.loss_legend, self.psnr_legend):  # the run names stay readable
                legend.setLabelTextColor(foreground)
                legend.setBrush(pg.mkBrush(QColor(background.red(), background.green(), background.blue(), 200)))
                legend.setPen(pg.mkPen(foreground, width=0.5))
        super().changeEvent(event)

