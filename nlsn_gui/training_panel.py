"""The training panel: set up, launch, watch and steer an NLSN training run; reopen and compare runs.

A :class:`~core.train.Trainer` runs as ONE job on the main window's worker thread. Its
listener is a :class:`~core.train.RunHistory` (Qt-free, lock-protected), and a QTimer
(4 Hz) redraws the plots and labels from a snapshot of it: never per event, so a fast run
cannot flood the event loop. Pause, Resume and Stop call the trainer's thread-safe methods.

While the run holds the worker, other jobs (opening, upscaling) wait behind it; the panel says
so. Cancelling the training job (the window's Cancel, or closing) stops the run cleanly: the
trainer saves a checkpoint, so Resume run… continues it.

No tensor math here: curves, EMA, previews and run folders come from ``core.train``.
"""
from __future__ import annotations

import gc
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QEvent, QEventLoop, QLocale, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDoubleValidator, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.base.errors import NLSNError
from core.inference import available_devices
from core.network import PRESETS
from resources import MODELS_DIR
from core.train import (
    FinishedEvent,
    HistorySnapshot,
    RunHistory,
    TrainConfig,
    Trainer,
    check_setup,
    default_data_dirs,
    default_val_dir,
    warm_up,
)

__all__ = ["TrainingPanel", "install_training_panel"]

REFRESH_MS = 250  # plots and labels are redrawn at most 4 times a second
FOLLOW_EVERY = 8  # refreshes between re-reads of metrics.jsonl for runs not trained here
CLOSE_WAIT_S = 30.0  # how long closing waits for a stopped run to save its checkpoint
SETTINGS = "training"
LIVE_COLOUR = QColor(64, 156, 255)
RUN_COLOURS = [QColor(c) for c in ("#ff8c1a", "#2ca02c", "#e0443e", "#9467bd",
                                    "#c49c30", "#e377c2", "#17becf", "#8c8c8c")]
STATE_TEXT = {
    "idle": ("Ready", None),
    "queued": ("Queued: the worker is busy", "#c49c30"),
    "starting": ("Starting…", "#2ca02c"),
    "preparing": ("Preparing data…", "#2ca02c"),
    "running": ("Running", "#2ca02c"),
    "pausing": ("Pausing after this step…", "#c49c30"),
    "paused": ("Paused", "#c49c30"),
    "stopping": ("Stopping: saving a checkpoint…", "#c49c30"),
    "stopped": ("Stopped", "#8c8c8c"),
    "completed": ("Completed", LIVE_COLOUR.name()),
    "diverged": ("Diverged", "#e0443e"),
    "failed": ("Failed", "#e0443e"),
    "cancelled": ("Cancelled", "#8c8c8c"),
}


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "…"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def default_run_dir(preset: str, scale: int, root: Path | None = None) -> Path:
    """A new run folder: ``~/NLSN runs/<preset>-x<scale>-<date-time>``."""
    root = root or Path.home() / "NLSN runs"
    return root / f"{preset}-x{scale}-{time.strftime('%Y%m%d-%H%M%S')}"


class _LogAxis(pg.AxisItem):
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


@dataclass
class _Run:
    """A run trained by this panel (live until the job ends)."""

    trainer: Trainer
    history: RunHistory
    run_dir: Path
    job_id: int = 0
    ctx: Any = None  # the worker's JobContext, set on the worker thread
    started: bool = False  # the worker began the job (it may have queued behind another)
    ended: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class _PathField(QWidget):
    """A line edit with a Browse… button that picks a folder (or a file, given a name filter)."""

    edited = Signal()

    def __init__(self, title: str, placeholder: str = "", parent: QWidget | None = None, *,
                 file_filter: str | None = None, start_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.file_filter = file_filter
        self.start_dir = start_dir  # where Browse… opens while the field is empty (default: home)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.textEdited.connect(lambda _t: self.edited.emit())
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        self.edit.setText(text)

    def _browse(self) -> None:
        start = self.text() or str(self.start_dir or Path.home())
        while start and not Path(start).is_dir() and Path(start).parent != Path(start):
            start = str(Path(start).parent)
        if self.file_filter is not None:
            path, _ = QFileDialog.getOpenFileName(self, self.title, start, self.file_filter)
        else:
            path = QFileDialog.getExistingDirectory(self, self.title, start)
        if path:
            self.edit.setText(path)
            self.edited.emit()


class TrainingPanel(QWidget):
    """Set-up form, controls, live plots, previews and the list of runs."""

    stateChanged = Signal(str)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.main_window = window
        self.settings = window.settings
        self.history: RunHistory | None = None  # the run in view: live, or opened from its folder
        self._run: _Run | None = None  # the run trained by this panel, while it exists
        self._resume_dir: Path | None = None
        self._resume_config: TrainConfig | None = None
        self._out_auto = True
        self._shown_version = -1
        self._shown_messages = 0
        self._shown_previews: list[int] = []
        self._preview_follow = True
        self._refreshes = 0
        self._last_state = ""
        self._own_jobs: set[int] = set()
        self._announced: set[int] = set()
        self._overlays: dict[str, RunHistory] = {}
        self._overlay_items: list = []
        self._overlay_versions: dict[str, int] = {}
        self._snap: HistorySnapshot | None = None
        self._dirty: set[str] = set()  # plots whose data changed and wait for their turn to redraw
        self._plotted: dict[str, int] = {}
        self._last_plot = ""

        self._build()
        self._restore_form()
        self._restore_runs()

        w = window.worker.worker
        w.started.connect(self._job_started)
        w.finished.connect(self._job_finished)
        w.failed.connect(self._job_failed)
        w.cancelled.connect(self._job_cancelled)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._update_controls()

    # ================================================================== building

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 6)
        outer.setSpacing(4)
        outer.addLayout(self._build_controls())
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner.hide()
        outer.addWidget(self.banner)

        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_form(), "Setup")
        self.tabs.addTab(self._build_runs(), "Runs")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(1000)
        self.log.setPlaceholderText("Messages of the run appear here.")
        self.tabs.addTab(self.log, "Log")
        self.tabs.setMinimumWidth(380)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self._build_plots())
        self.splitter.addWidget(self._build_previews())
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([440, 700, 300])
        outer.addWidget(self.splitter, 1)

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start a new run with the settings of the Setup tab")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause after the current step (the worker stays reserved for the run)")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the paused run")
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop within a second and save a checkpoint (Resume run… continues it)")
        self.stop_button.clicked.connect(self.stop)
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            button.setMinimumWidth(72)
            row.addWidget(button)
        self.state_label = QLabel()
        self.state_label.setMinimumWidth(150)
        self.state_label.setContentsMargins(8, 0, 4, 0)
        row.addWidget(self.state_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setMinimumWidth(120)
        self.progress.setMaximumWidth(200)
        row.addWidget(self.progress)
        self.stats_label = QLabel()
        self.stats_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stats_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        row.addWidget(self.stats_label, 1)
        self.which_box = QComboBox()
        self.which_box.addItem("Best model", "best")
        self.which_box.addItem("Newest model", "last")
        self.which_box.setToolTip("Best: the checkpoint with the highest validation PSNR. Newest: the last one saved.")
        row.addWidget(self.which_box)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Make the run's model the upscale model of the window (its scale is selected too)")
        self.use_button.clicked.connect(lambda: self.use_model())
        row.addWidget(self.use_button)
        return row

    def _spin(self, low: int, high: int, value: int, *, suffix: str = "", step: int = 1, tip: str = "") -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.setSingleStep(step)
        box.setSuffix(suffix)
        box.setGroupSeparatorShown(True)
        box.setToolTip(tip)
        return box

    def _pair_row(self, left: QWidget, label: str, right: QWidget, *, stretch_left: bool = True) -> QHBoxLayout:
        """One form row holding two fields: ``left``, then ``label`` and ``right``.

        With ``stretch_left`` both fields share the row equally whatever their contents, and the
        labels between them get one width (``_align_pairs``), so the second column lines up.
        """
        row = QHBoxLayout()
        row.setSpacing(6)
        middle = QLabel(label)
        if stretch_left:
            for field_widget in (left, right):
                policy = field_widget.sizePolicy()
                policy.setHorizontalPolicy(QSizePolicy.Ignored)  # equal halves, not content widths
                field_widget.setSizePolicy(policy)
                field_widget.setMinimumWidth(field_widget.fontMetrics().horizontalAdvance("0") * 8)
            middle.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self._pair_labels.append(middle)
        row.addWidget(left, 1 if stretch_left else 0)
        row.addWidget(middle)
        row.addWidget(right, 1)
        return row

    def _align_pairs(self) -> None:
        width = max(label.sizeHint().width() for label in self._pair_labels)
        for label in self._pair_labels:
            label.setFixedWidth(width)

    def _build_form(self) -> QWidget:
        defaults = TrainConfig()
        self._pair_labels: list[QLabel] = []
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setContentsMargins(6, 6, 6, 6)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(5)

        self.mode_label = QLabel()
        self.mode_label.setWordWrap(True)
        self.mode_label.hide()
        form.addRow(self.mode_label)

        data = QWidget()
        data_row = QHBoxLayout(data)
        data_row.setContentsMargins(0, 0, 0, 0)
        data_row.setSpacing(4)
        self.data_list = QListWidget()
        self.data_list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.data_list.setToolTip("Folders of HR training images (all are used together)")
        self.data_list.setMinimumHeight(52)
        self.data_list.setMaximumHeight(70)
        data_row.addWidget(self.data_list, 1, Qt.AlignTop)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        self.data_add = QPushButton("Add…")
        self.data_add.clicked.connect(self._add_data_folder)
        self.data_remove = QPushButton("Remove")
        self.data_remove.clicked.connect(self._remove_data_folders)
        buttons.addWidget(self.data_add)
        buttons.addWidget(self.data_remove)
        buttons.addStretch(1)
        data_row.addLayout(buttons)
        form.addRow("Training folders", data)

        self.val_folder = _PathField("Validation folder", "none: no validation")
        self.val_folder.setToolTip("Benchmark folder (e.g. Set5) scored at every validation; empty: no validation")
        form.addRow("Validation folder", self.val_folder)

        self.scale_box = QComboBox()
        for s in (2, 3, 4):
            self.scale_box.addItem(f"×{s}", s)
        self.preset_box = QComboBox()
        for name, cfg in PRESETS.items():
            extra = "" if cfg.use_nlsa else ", no sparse attention"
            self.preset_box.addItem(name, name)
            tip = f"{cfg.n_feats} features, {cfg.n_resblocks} residual blocks{extra}"
            self.preset_box.setItemData(self.preset_box.count() - 1, tip, Qt.ToolTipRole)
        self.preset_box.setToolTip("Network configuration: paper (the published NLSN), light, "
                                   "or tiny (for trying things)")
        form.addRow("Scale", self._pair_row(self.scale_box, "Configuration", self.preset_box, stretch_left=False))

        self.patch_spin = self._spin(8, 512, defaults.patch, suffix=" px", step=8,
                                     tip="Size of the LR training patches (paper: 48)")
        self.batch_spin = self._spin(1, 1024, defaults.batch, tip="Patches per step (paper: 16)")
        form.addRow("Patch", self._pair_row(self.patch_spin, "Batch", self.batch_spin))

        self.init_field = _PathField("Model to start from", "random weights (a new model)",
                                     file_filter="Models (*.safetensors *.pt *.pth);;All files (*)",
                                     start_dir=MODELS_DIR)
        self.init_field.setToolTip(
            "Optional: a model of the chosen configuration to start from. The same scale continues or "
            "fine-tunes it; another scale (e.g. x2 weights for x3) keeps all but the upsampler."
        )
        form.addRow("Start from", self.init_field)

        self.iters_spin = self._spin(1, 2_000_000_000, defaults.iters, step=1000,
                                     tip="Training steps (paper: 1,000,000)")
        self.warmup_spin = self._spin(0, 1_000_000, defaults.warmup, suffix=" steps", step=50,
                                      tip="Raise the learning rate linearly over the first steps (paper: 0). "
                                          "Useful when starting from a model: a fresh optimizer's first updates are full-size.")
        form.addRow("Iterations", self._pair_row(self.iters_spin, "Warm-up", self.warmup_spin))

        self.lr_edit = QLineEdit(f"{defaults.lr:g}")
        validator = QDoubleValidator(0.0, 10.0, 12, self.lr_edit)
        validator.setNotation(QDoubleValidator.ScientificNotation)
        validator.setLocale(QLocale.c())
        self.lr_edit.setValidator(validator)
        self.lr_edit.setToolTip("Adam learning rate (paper: 1e-4)")
        self.halve_spin = self._spin(1, 2_000_000_000, defaults.lr_halve_every, suffix=" steps", step=1000,
                                     tip="Halve the learning rate every this many steps (paper: 200,000)")
        form.addRow("Learning rate", self._pair_row(self.lr_edit, "Halve every", self.halve_spin))

        self.ema_spin = QDoubleSpinBox()
        self.ema_spin.setRange(0.0, 0.9999)
        self.ema_spin.setDecimals(4)
        self.ema_spin.setLocale(QLocale.c())
        self.ema_spin.setSingleStep(0.001)
        self.ema_spin.setSpecialValueText("off")  # shown at 0, the paper's setting
        self.ema_spin.setValue(defaults.ema_decay)
        self.ema_spin.setToolTip(
            "Keep a moving average of the weights with this decay (e.g. 0.999; off: the paper). The "
            "average is what is validated and saved as the run's models."
        )
        self.seed_spin = self._spin(0, 2**31 - 1, defaults.seed,
                                    tip="Seed of the patch sampling, the first weights and the hash rotations. "
                                        "A run is a function of its seed; continuing a model with a new "
                                        "seed trains on patches it has not seen.")
        form.addRow("Weight EMA", self._pair_row(self.ema_spin, "Seed", self.seed_spin))

        self.device_box = QComboBox()
        devices = available_devices()
        self.device_box.addItem(f"Auto ({devices[0].upper() if devices[0] != 'cpu' else 'CPU'})", "auto")
        for name in devices:
            self.device_box.addItem(name.upper() if name != "cpu" else "CPU", name)
        self.precision_box = QComboBox()
        self.precision_box.addItem("fp32 (paper)", "fp32")
        self.precision_box.addItem("bf16 mixed", "bf16")
        self.precision_box.setToolTip(
            "bf16 mixed precision (1.7x faster measured on a CPU with AVX-512 BF16; for such CPUs, AMX "
            "and recent GPUs): weights, optimizer and validation stay fp32"
        )
        form.addRow("Device", self._pair_row(self.device_box, "Precision", self.precision_box))

        self.val_every_spin = self._spin(1, 10_000_000, defaults.val_every, step=100,
                                         tip="Steps between validations (PSNR/SSIM and previews)")
        self.log_every_spin = self._spin(1, 100_000, defaults.log_every, tip="Steps between points of the curves")
        form.addRow("Validate every", self._pair_row(self.val_every_spin, "Log every", self.log_every_spin))
        self.save_every_spin = self._spin(1, 10_000_000, defaults.save_every, step=100,
                                          tip="Steps between checkpoints (Stop always saves one)")
        self.keep_every_spin = self._spin(0, 10_000_000, defaults.keep_every, suffix=" steps", step=100,
                                          tip="Also keep the model of every this many steps in the run's "
                                              "snapshots folder (off: only the newest and the best). "
                                              "Model > Average Models… averages a stretch of them.")
        self.keep_every_spin.setSpecialValueText("off")  # shown at 0, the default
        form.addRow("Save every", self._pair_row(self.save_every_spin, "Keep every", self.keep_every_spin))
        self._align_pairs()

        self.out_folder = _PathField("Output folder for the run")
        self.out_folder.setToolTip("The run folder: config, metrics, checkpoints, models and previews")
        self.out_folder.edited.connect(self._out_edited)
        self.out_folder.browse.clicked.disconnect()
        self.out_folder.browse.clicked.connect(self._browse_out)
        form.addRow("Output folder", self.out_folder)

        resume_row = QHBoxLayout()
        resume_row.setSpacing(6)
        self.resume_run_button = QPushButton("Resume run…")
        self.resume_run_button.setToolTip("Continue a stopped run from its checkpoint")
        self.resume_run_button.clicked.connect(self._resume_dialog)
        self.new_run_button = QPushButton("New run")
        self.new_run_button.setToolTip("Leave the resumed run and set up a new one")
        self.new_run_button.clicked.connect(self.new_run)
        self.new_run_button.hide()
        resume_row.addWidget(self.resume_run_button)
        resume_row.addWidget(self.new_run_button)
        resume_row.addStretch(1)
        form.addRow("", resume_row)

        self.queue_label = QLabel()
        self.queue_label.setWordWrap(True)
        self.queue_label.setText(
            "The run uses the app's worker: upscaling and opening images wait until it stops or ends "
            "(Pause keeps the worker reserved)."
        )
        self.queue_label.setEnabled(False)  # a hint, drawn in the muted text colour
        form.addRow(self.queue_label)

        self.scale_box.currentIndexChanged.connect(self._auto_out)
        self.preset_box.currentIndexChanged.connect(self._auto_out)
        self._form_widgets = [
            self.data_list, self.data_add, self.data_remove, self.val_folder, self.scale_box, self.preset_box,
            self.patch_spin, self.batch_spin, self.lr_edit, self.val_every_spin, self.save_every_spin,
            self.log_every_spin, self.out_folder, self.init_field, self.warmup_spin, self.halve_spin,
            self.ema_spin, self.seed_spin, self.keep_every_spin,
        ]

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addStretch(1)  # spare height goes below the form, not into its rows
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(content)
        return scroll

    def _build_runs(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        hint = QLabel("Double-click a run to view it; tick runs to overlay their loss and PSNR.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        layout.addWidget(hint)
        self.runs_list = QListWidget()
        self.runs_list.itemChanged.connect(self._run_checked)
        self.runs_list.itemDoubleClicked.connect(lambda item: self.open_run(Path(item.data(Qt.UserRole))))
        self.runs_list.currentItemChanged.connect(lambda *_: self._update_controls())
        layout.addWidget(self.runs_list, 1)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.run_add = QPushButton("Add…")
        self.run_add.setToolTip("Add a run folder (e.g. one trained with `nlsn train`)")
        self.run_add.clicked.connect(self._add_run_dialog)
        self.run_open = QPushButton("Open")
        self.run_open.setToolTip("Show the run's curves and previews")
        self.run_open.clicked.connect(self._open_selected)
        self.run_resume = QPushButton("Resume…")
        self.run_resume.setToolTip("Set up to continue this run from its checkpoint")
        self.run_resume.clicked.connect(self._resume_selected)
        self.run_remove = QPushButton("Remove")
        self.run_remove.setToolTip("Remove from the list (the folder stays on disk)")
        self.run_remove.clicked.connect(self._remove_selected_run)
        for b in (self.run_add, self.run_open, self.run_resume, self.run_remove):
            row.addWidget(b)
        layout.addLayout(row)
        return page

    def _build_plots(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        options = QHBoxLayout()
        options.setSpacing(6)
        self.run_title = QLabel("No run yet")
        font = self.run_title.font()
        font.setBold(True)
        self.run_title.setFont(font)
        self.run_title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        options.addWidget(self.run_title, 1)
        options.addWidget(QLabel("Smoothing"))
        self.smooth_slider = QSlider(Qt.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(int(self.settings.value(f"{SETTINGS}/smoothing", 80)))
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
        self.log_check.toggled.connect(self._log_toggled)
        options.addWidget(self.log_check)
        layout.addLayout(options)

        # Four separate plot widgets: each repaints alone, and while a run is live the timer redraws
        # one of them per tick, so no single repaint holds the UI thread long (the worker thread
        # competes for the GIL: a repaint costs several times what it costs when idle).
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
        raw = QColor(LIVE_COLOUR)
        raw.setAlpha(90)
        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen(raw, width=1)),
            "loss_ema": self.loss_plot.plot(pen=pg.mkPen(LIVE_COLOUR, width=2)),
            "lr": self.lr_plot.plot(pen=pg.mkPen(LIVE_COLOUR, width=2)),
            "psnr": self.psnr_plot.plot(pen=pg.mkPen(LIVE_COLOUR, width=2), symbol="o", symbolSize=5,
                                        symbolBrush=LIVE_COLOUR, symbolPen=None),
            "ssim": self.ssim_plot.plot(pen=pg.mkPen(LIVE_COLOUR, width=2)),
            "best": self.psnr_plot.plot(pen=None, symbol="star", symbolSize=16, symbolBrush=QColor("#ffcc00"),
                                        symbolPen=pg.mkPen(QColor("#a07800"))),
        }
        for curve in self.curves.values():
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)
        self._update_legends()
        layout.addLayout(grid, 1)
        return page

    def _empty_ranges(self) -> None:
        """Plausible axes before the first point arrives (autorange resumes with the data)."""
        self.loss_plot.setXRange(0, 1000, padding=0)
        self.loss_plot.setYRange(-2, 0, padding=0.05)  # log10: 0.01 .. 1
        self.psnr_plot.setYRange(20, 40, padding=0.05)
        self.ssim_plot.setYRange(0.5, 1.0, padding=0.05)
        self.lr_plot.setYRange(0, 2e-4, padding=0.05)

    def _plot(self, key: str, title: str, grid: QGridLayout, row: int, col: int, *,
              log_axis: bool = False) -> pg.PlotItem:
        axes = {"left": _LogAxis("left")} if log_axis else None
        widget = pg.PlotWidget(axisItems=axes)
        widget.setMinimumSize(160, 110)
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

    def _build_previews(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        header = QLabel("Validation crops: LR (nearest) │ NLSN │ HR")
        header.setAlignment(Qt.AlignCenter)
        layout.addWidget(header)
        self.preview_view = pg.GraphicsLayoutWidget()
        self.preview_view.ci.setContentsMargins(2, 2, 2, 2)
        self.preview_box = self.preview_view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.preview_item = pg.ImageItem(axisOrder="row-major")
        self.preview_box.addItem(self.preview_item)
        self.preview_empty = QLabel("Crops of the validation images\nappear here at each validation.")
        self.preview_empty.setAlignment(Qt.AlignCenter)
        self.preview_empty.setEnabled(False)
        self.preview_stack = QStackedWidget()
        self.preview_stack.addWidget(self.preview_empty)
        self.preview_stack.addWidget(self.preview_view)
        layout.addWidget(self.preview_stack, 1)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.preview_slider = QSlider(Qt.Horizontal)
        self.preview_slider.setRange(0, 0)
        self.preview_slider.setEnabled(False)
        self.preview_slider.setToolTip("Step back through earlier validations")
        self.preview_slider.valueChanged.connect(self._preview_moved)
        row.addWidget(self.preview_slider, 1)
        self.preview_label = QLabel("–")
        self.preview_label.setMinimumWidth(120)
        row.addWidget(self.preview_label)
        layout.addLayout(row)
        page.setMinimumWidth(220)
        return page

    # ================================================================== settings and form

    def _restore_form(self) -> None:
        s = self.settings
        saved = s.value(f"{SETTINGS}/data")
        if saved is None:
            folders = [str(p) for p in default_data_dirs()]
        else:
            folders = [saved] if isinstance(saved, str) else list(saved)
        self.set_training_folders(folders)
        val = s.value(f"{SETTINGS}/val")
        if val is None:
            default = default_val_dir()
            val = str(default) if default else ""
        self.val_folder.setText(str(val))
        self._select(self.scale_box, int(s.value(f"{SETTINGS}/scale", TrainConfig.scale)))
        self._select(self.preset_box, str(s.value(f"{SETTINGS}/preset", TrainConfig.preset)))
        defaults = TrainConfig()
        for key, box in self._spins():
            box.setValue(int(s.value(f"{SETTINGS}/{key}", getattr(defaults, key))))
        self.init_field.setText(str(s.value(f"{SETTINGS}/init_from", "")))
        self.lr_edit.setText(str(s.value(f"{SETTINGS}/lr", f"{defaults.lr:g}")))
        self._select(self.device_box, str(s.value(f"{SETTINGS}/device", "auto")))
        self._select(self.precision_box, str(s.value(f"{SETTINGS}/precision", defaults.precision)))
        try:
            self.ema_spin.setValue(float(s.value(f"{SETTINGS}/ema_decay", defaults.ema_decay)))
        except (TypeError, ValueError):
            self.ema_spin.setValue(defaults.ema_decay)
        self._auto_out()
        self._smoothing_changed(self.smooth_slider.value())

    def _save_form(self) -> None:
        s = self.settings
        s.setValue(f"{SETTINGS}/data", self.training_folders())
        s.setValue(f"{SETTINGS}/val", self.val_folder.text())
        s.setValue(f"{SETTINGS}/scale", self.scale_box.currentData())
        s.setValue(f"{SETTINGS}/preset", self.preset_box.currentData())
        for key, box in self._spins():
            s.setValue(f"{SETTINGS}/{key}", box.value())
        s.setValue(f"{SETTINGS}/init_from", self.init_field.text())
        s.setValue(f"{SETTINGS}/lr", self.lr_edit.text())
        s.setValue(f"{SETTINGS}/device", self.device_box.currentData())
        s.setValue(f"{SETTINGS}/precision", self.precision_box.currentData())
        s.setValue(f"{SETTINGS}/ema_decay", self.ema_spin.value())
        s.setValue(f"{SETTINGS}/smoothing", self.smooth_slider.value())
        if not self._out_auto and self._resume_dir is None and self.out_folder.text():
            s.setValue(f"{SETTINGS}/out_root", str(Path(self.out_folder.text()).parent))

    def _spins(self) -> tuple[tuple[str, QSpinBox], ...]:
        """The number boxes of the form, by TrainConfig field (also their settings key)."""
        return (("patch", self.patch_spin), ("batch", self.batch_spin), ("iters", self.iters_spin),
                ("warmup", self.warmup_spin), ("lr_halve_every", self.halve_spin), ("val_every", self.val_every_spin),
                ("save_every", self.save_every_spin), ("log_every", self.log_every_spin),
                ("seed", self.seed_spin), ("keep_every", self.keep_every_spin))

    @staticmethod
    def _select(box: QComboBox, data) -> None:
        index = box.findData(data)
        if index >= 0:
            box.setCurrentIndex(index)

    def training_folders(self) -> list[str]:
        return [self.data_list.item(i).text() for i in range(self.data_list.count())]

    def set_training_folders(self, folders: list[str]) -> None:
        self.data_list.clear()
        for folder in folders:
            self.data_list.addItem(str(folder))

    def _add_data_folder(self) -> None:
        folders = self.training_folders()
        start = folders[-1] if folders else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Add a training folder", start)
        if path and path not in folders:
            self.data_list.addItem(path)

    def _remove_data_folders(self) -> None:
        current = self.data_list.currentItem()
        for item in self.data_list.selectedItems() or ([current] if current is not None else []):
            self.data_list.takeItem(self.data_list.row(item))

    def _out_root(self) -> Path:
        saved = self.settings.value(f"{SETTINGS}/out_root")
        return Path(str(saved)) if saved else Path.home() / "NLSN runs"

    def _auto_out(self) -> None:
        if self._out_auto and self._resume_dir is None:
            preset, scale = str(self.preset_box.currentData()), int(self.scale_box.currentData())
            self.out_folder.setText(str(default_run_dir(preset, scale, self._out_root())))

    def _out_edited(self) -> None:
        self._out_auto = False

    def _browse_out(self) -> None:
        start = Path(self.out_folder.text()).parent if self.out_folder.text() else self._out_root()
        while not start.is_dir() and start.parent != start:
            start = start.parent
        path = QFileDialog.getExistingDirectory(self, "Folder that will hold the run", str(start))
        if path:
            self.settings.setValue(f"{SETTINGS}/out_root", path)
            self._out_auto = True
            self._auto_out()

    def config_from_form(self) -> TrainConfig:
        """The run's settings as the form shows them (NLSNError with a readable line when invalid)."""
        text = self.lr_edit.text().strip()
        try:
            lr = float(text)
        except ValueError:
            raise NLSNError(f"learning rate: {text!r} is not a number (e.g. 1e-4)") from None
        if self._resume_config is not None:
            config = TrainConfig.from_dict(self._resume_config.to_dict())
            config.iters = self.iters_spin.value()
            config.device = str(self.device_box.currentData())
            config.precision = str(self.precision_box.currentData())
            return config
        val = self.val_folder.text()
        return TrainConfig(
            data=self.training_folders(),
            scale=int(self.scale_box.currentData()),
            preset=str(self.preset_box.currentData()),
            val=val or None,
            lr=lr,
            device=str(self.device_box.currentData()),
            precision=str(self.precision_box.currentData()),
            ema_decay=self.ema_spin.value(),
            init_from=self.init_field.text() or None,
            **{key: box.value() for key, box in self._spins()},
        )

    def _fill_form(self, config: TrainConfig) -> None:
        self.set_training_folders(list(config.data))
        self.val_folder.setText(config.val or "")
        self._select(self.scale_box, config.scale)
        self._select(self.preset_box, config.preset)
        for key, box in self._spins():
            box.setValue(getattr(config, key))
        self.init_field.setText(config.init_from or "")
        self.lr_edit.setText(f"{config.lr:g}")
        self._select(self.device_box, config.device)
        self._select(self.precision_box, config.precision)
        self.ema_spin.setValue(config.ema_decay)

    # ================================================================== resume

    def _resume_dialog(self) -> None:
        start = str(self._out_root()) if self._out_root().is_dir() else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Resume a training run", start)
        if path:
            self.prepare_resume(Path(path))

    def prepare_resume(self, run_dir: Path) -> bool:
        """Set the form up to continue ``run_dir`` (its own settings; iterations and device may change)."""
        if self.is_live:
            self.show_message("A run is in progress: stop it before resuming another.", "warning")
            return False
        try:
            if not (run_dir / "config.json").is_file():
                raise NLSNError(f"{run_dir}: not a training run (no config.json)")
            config = TrainConfig.load(run_dir / "config.json")
            if not (run_dir / "checkpoints" / "last.pt").is_file():
                raise NLSNError(f"{run_dir.name} has no checkpoint yet: it cannot be resumed")
        except NLSNError as err:
            self.show_message(str(err), "error")
            return False
        self._resume_dir = run_dir
        self._resume_config = config
        self._fill_form(config)
        self.out_folder.setText(str(run_dir))
        self.mode_label.setText(f"<b>Resuming {run_dir.name}</b> from its checkpoint: only the iterations, "
                                "the device and the precision can change.")
        self.mode_label.show()
        self.new_run_button.show()
        self.add_run(run_dir)
        self.open_run(run_dir)
        self.tabs.setCurrentIndex(0)
        self.clear_message()
        self._update_controls()
        return True

    def new_run(self) -> None:
        self._resume_dir = None
        self._resume_config = None
        self.mode_label.hide()
        self.new_run_button.hide()
        self._out_auto = True
        self._auto_out()
        self._update_controls()

    # ================================================================== messages

    def show_message(self, text: str, level: str = "info") -> None:
        """A readable line above the plots (errors in red); also kept in the log."""
        colours = {"error": "224, 68, 62", "warning": "196, 156, 48", "info": "64, 156, 255"}
        rgb = colours.get(level, colours["info"])
        self.banner.setStyleSheet(
            f"QLabel {{ border: 1px solid rgb({rgb}); border-radius: 3px; padding: 4px 8px;"
            f" background: rgba({rgb}, 38); }}"
        )
        prefix = {"error": "Error: ", "warning": ""}.get(level, "")
        self.banner.setText(prefix + text)
        self.banner.show()
        self._log_line(level, text)

    def clear_message(self) -> None:
        self.banner.hide()
        self.banner.clear()

    def message_text(self) -> str:
        """The line shown above the plots ('' when none)."""
        return "" if self.banner.isHidden() else self.banner.text()

    def _log_line(self, level: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        mark = {"warning": "warning: ", "error": "error: "}.get(level, "")
        self.log.appendPlainText(f"{stamp}  {mark}{text}")

    # ================================================================== control

    @property
    def trainer(self) -> Trainer | None:
        return self._run.trainer if self._run is not None else None

    @property
    def is_live(self) -> bool:
        return self._run is not None and not self._run.ended

    @property
    def state(self) -> str:
        """What the run in view is doing: idle, queued, starting, preparing, running, pausing, paused,
        stopping, stopped, completed, diverged, failed or cancelled."""
        run = self._run
        if run is not None and self.history is run.history:
            if run.ended:
                return run.history.state
            if not run.started:
                return "queued"
            trainer_state = run.trainer.state
            if trainer_state in ("running", "pausing", "paused") and run.trainer.stop_requested:
                return "stopping"
            if trainer_state == "idle":
                return "starting"
            if trainer_state == "running" and run.history.step == 0 and run.trainer.step == 0:
                return "preparing"
            return trainer_state
        return self.history.state if self.history is not None else "idle"

    def start(self) -> bool:
        """Start the run set up in the form (a new one, or the resumed one); False with a message if not."""
        if self.is_live:
            return False
        resume = self._resume_dir is not None
        try:
            config = self.config_from_form()
            run_dir = Path(self.out_folder.text()).expanduser() if self.out_folder.text() else None
            if resume:
                run_dir = self._resume_dir
            elif self._out_auto:  # a fresh time stamp for every new run
                self._auto_out()
                run_dir = Path(self.out_folder.text())
            if run_dir is None:
                raise NLSNError("choose an output folder for the run")
            check_setup(config, run_dir, resume=resume)
            history = RunHistory.from_metrics(run_dir) if resume else RunHistory(run_dir)
            history.config = config.to_dict()
            trainer = Trainer(config, run_dir, resume=resume, listener=history)
        except NLSNError as err:
            self.show_message(str(err), "error")
            return False
        self._save_form()
        self.clear_message()
        gc.freeze()  # see core.train.warm_up: full collections stay short during the run
        run = _Run(trainer=trainer, history=history, run_dir=run_dir)
        self._run = run
        self._show_history(history)
        self._log_line("info", f"{'resuming' if resume else 'starting'} {run_dir}")

        def train(ctx, run=run):
            run.ctx = ctx
            watching = threading.Event()

            def watch() -> None:  # the window's Cancel (or its closing) stops the run cleanly
                while not watching.wait(0.1):
                    if ctx.cancelled():
                        run.trainer.stop()
                        return

            threading.Thread(target=watch, name="nlsn-train-cancel", daemon=True).start()
            try:
                return run.trainer.run()
            finally:
                watching.set()
                run.done.set()

        run.job_id = self.main_window.worker.submit("Training", train)
        self._own_jobs.add(run.job_id)
        self.add_run(run_dir)
        if resume:
            self.new_run()
        self.main_window._set_status(f"Training {run_dir.name}…")
        self.refresh()
        return True

    def pause(self) -> None:
        if self.is_live and self._run.started:
            self._run.trainer.pause()
            self.refresh()

    def resume(self) -> None:
        if self.is_live:
            self._run.trainer.resume()
            self.refresh()

    def stop(self) -> None:
        """Stop within a second; the trainer saves a checkpoint first."""
        if not self.is_live:
            return
        if not self._run.started:  # still queued behind another job: just drop it
            self.main_window.worker.cancel(self._run.job_id)
        self._run.trainer.stop()
        self.refresh()

    def wait_for_end(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """Let a stopped run end (bounded); the UI keeps painting meanwhile. True when it ended."""
        run = self._run
        if run is None:
            return True
        deadline = time.monotonic() + timeout_s
        while not run.ended and time.monotonic() < deadline:  # ended: the worker's signal arrived
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents, 50)
            run.done.wait(0.02)
        return run.ended

    def confirm_close(self) -> bool:
        """Called when the window closes: ask (unless quiet), stop the run and wait for its checkpoint.

        Returns False when the user chose to keep training (the window should stay open).
        """
        self._save_form()
        if not self.is_live:
            return True
        run = self._run
        if not QApplication.instance().property("nlsn_quiet"):
            box = QMessageBox(self.main_window)
            box.setIcon(QMessageBox.Question)
            box.setWindowTitle("NLSN Studio")
            box.setText(f"A training run is in progress ({run.run_dir.name}, step {run.trainer.step:,}).")
            box.setInformativeText("Stop it and quit? A checkpoint is saved first, "
                                   "so Resume run… continues it later.")
            stop = box.addButton("Stop and Quit", QMessageBox.AcceptRole)
            keep = box.addButton("Keep Training", QMessageBox.RejectRole)
            box.setDefaultButton(keep)
            box.exec()
            if box.clickedButton() is not stop:
                return False
        self.main_window._set_status("Stopping the training run (saving a checkpoint)…")
        self.stop()
        if not self.wait_for_end():
            self._log_line("warning", "the run did not end in time; its last checkpoint is kept")
        return True

    # ================================================================== worker signals

    def _job_started(self, job_id: int, _name: str) -> None:
        if self._run is not None and job_id == self._run.job_id:
            self._run.started = True
            self.refresh()

    def _job_finished(self, job_id: int, result) -> None:
        self._own_jobs.discard(job_id)
        run = self._run
        if run is None or job_id != run.job_id:
            return
        run.ended = True
        self._shown_version = -1
        if isinstance(result, FinishedEvent):
            text, level = self._finished_text(result, run.run_dir)
            self.show_message(text, level)
            self.main_window._set_status(f"Training: {text}")
        self.refresh()

    def _job_failed(self, job_id: int, message: str) -> None:
        self._own_jobs.discard(job_id)
        run = self._run
        if run is None or job_id != run.job_id:
            return
        run.ended = True
        run.history.set_state("failed")
        self.show_message(message, "error")
        self.main_window._set_status(f"Training failed: {message}")
        self.refresh()

    def _job_cancelled(self, job_id: int) -> None:
        self._own_jobs.discard(job_id)
        run = self._run
        if run is None or job_id != run.job_id:
            return
        run.ended = True
        run.history.set_state("cancelled")
        self.show_message("The run was cancelled before it started.", "warning")
        self.refresh()

    @staticmethod
    def _finished_text(result: FinishedEvent, run_dir: Path) -> tuple[str, str]:
        if result.reason == "completed":
            return f"Completed {result.step:,} steps. “Use this model” makes it the upscale model.", "info"
        if result.reason == "stopped":
            return (f"Stopped at step {result.step:,}; a checkpoint is saved. Resume run… "
                    f"(or Runs › Resume…) continues {run_dir.name}.", "info")
        return result.message.replace("--lr", "learning rate"), "error"

    # ================================================================== runs

    def _restore_runs(self) -> None:
        saved = self.settings.value(f"{SETTINGS}/runs", []) or []
        checked = self.settings.value(f"{SETTINGS}/runs_checked", []) or []
        saved = [saved] if isinstance(saved, str) else list(saved)
        checked = {checked} if isinstance(checked, str) else set(checked)
        self.runs_list.blockSignals(True)
        for path in reversed(saved):  # items go on top: newest first, as saved
            if Path(path).is_dir():
                self._add_run_item(Path(path), checked=path in checked)
        self.runs_list.blockSignals(False)
        self._rebuild_overlays()

    def _save_runs(self) -> None:
        self.settings.setValue(f"{SETTINGS}/runs", self.run_paths())
        self.settings.setValue(f"{SETTINGS}/runs_checked", [str(p) for p in self.checked_runs()])

    def run_paths(self) -> list[str]:
        return [self.runs_list.item(i).data(Qt.UserRole) for i in range(self.runs_list.count())]

    def checked_runs(self) -> list[Path]:
        return [Path(self.runs_list.item(i).data(Qt.UserRole)) for i in range(self.runs_list.count())
                if self.runs_list.item(i).checkState() == Qt.Checked]

    def _run_item(self, run_dir: Path) -> QListWidgetItem | None:
        key = str(run_dir)
        for i in range(self.runs_list.count()):
            if self.runs_list.item(i).data(Qt.UserRole) == key:
                return self.runs_list.item(i)
        return None

    def _add_run_item(self, run_dir: Path, *, checked: bool = False) -> QListWidgetItem:
        item = QListWidgetItem(run_dir.name)
        item.setData(Qt.UserRole, str(run_dir))
        item.setToolTip(str(run_dir))
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
        self.runs_list.insertItem(0, item)
        return item

    def add_run(self, run_dir: Path, *, checked: bool = False) -> None:
        """List a run folder (remembered in the settings); newest first."""
        run_dir = Path(run_dir)
        item = self._run_item(run_dir)
        if item is None:
            self.runs_list.blockSignals(True)
            item = self._add_run_item(run_dir, checked=checked)
            self.runs_list.blockSignals(False)
        elif checked:
            item.setCheckState(Qt.Checked)
        self.runs_list.setCurrentItem(item)
        self._save_runs()
        self._rebuild_overlays()

    def _add_run_dialog(self) -> None:
        start = str(self._out_root()) if self._out_root().is_dir() else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Add a training run", start)
        if path:
            run_dir = Path(path)
            if not (run_dir / "metrics.jsonl").is_file() and not (run_dir / "config.json").is_file():
                self.show_message(f"{run_dir}: not a training run (no config.json or metrics.jsonl)", "error")
                return
            self.add_run(run_dir)
            self.open_run(run_dir)

    def _selected_run(self) -> Path | None:
        item = self.runs_list.currentItem()
        return Path(item.data(Qt.UserRole)) if item is not None else None

    def _open_selected(self) -> None:
        path = self._selected_run()
        if path is not None:
            self.open_run(path)

    def _resume_selected(self) -> None:
        path = self._selected_run()
        if path is not None:
            self.prepare_resume(path)

    def _remove_selected_run(self) -> None:
        item = self.runs_list.currentItem()
        if item is None:
            return
        if self._run is not None and not self._run.ended and item.data(Qt.UserRole) == str(self._run.run_dir):
            self.show_message("The run in progress stays in the list.", "warning")
            return
        self.runs_list.takeItem(self.runs_list.row(item))
        self._overlays.pop(item.data(Qt.UserRole), None)
        self._save_runs()
        self._rebuild_overlays()

    def open_run(self, run_dir: Path) -> bool:
        """Show a run folder's curves (from metrics.jsonl) and previews; the live run stays in view."""
        run_dir = Path(run_dir)
        if self.is_live and run_dir != self._run.run_dir:
            item = self._run_item(run_dir)
            if item is not None:
                item.setCheckState(Qt.Checked)
            self.show_message(f"A run is in progress and stays in view; {run_dir.name} is overlaid on its curves.",
                              "info")
            return False
        if self._run is not None and run_dir == self._run.run_dir:
            self._show_history(self._run.history)
            return True
        try:
            history = RunHistory.from_metrics(run_dir)
        except NLSNError as err:
            self.show_message(str(err), "error")
            return False
        self.add_run(run_dir)
        self._show_history(history)
        self.clear_message()
        return True

    def _run_checked(self, _item: QListWidgetItem) -> None:
        self._save_runs()
        self._rebuild_overlays()

    def _rebuild_overlays(self) -> None:
        """Loss (smoothed) and PSNR of the ticked runs, one colour each, over the run in view."""
        for plot, item, _name in self._overlay_items:
            plot.removeItem(item)
        self._overlay_items = []
        current = self.history.run_dir if self.history is not None else None
        smoothing = self.smoothing
        for index, path in enumerate(self.checked_runs()):
            key = str(path)
            colour = RUN_COLOURS[index % len(RUN_COLOURS)]
            if current is not None and path == current:
                continue
            history = self._overlays.get(key)
            try:
                if history is None:
                    history = self._overlays[key] = RunHistory.from_metrics(path)
                else:
                    history.update_from_metrics()
            except NLSNError:
                continue
            snap = history.snapshot()
            self._overlay_versions[key] = snap.version
            if len(snap.steps):
                loss = self.loss_plot.plot(snap.steps, history.ema(smoothing), pen=pg.mkPen(colour, width=2))
                loss.setDownsampling(auto=True, method="peak")
                loss.setClipToView(True)
                self._overlay_items.append((self.loss_plot, loss, path.name))
            if len(snap.val_steps):
                psnr = self.psnr_plot.plot(snap.val_steps, snap.psnr, pen=pg.mkPen(colour, width=2), symbol="o",
                                           symbolSize=4, symbolBrush=colour, symbolPen=None)
                self._overlay_items.append((self.psnr_plot, psnr, path.name))
        self._update_legends()

    def _update_legends(self) -> None:
        """Legends only when runs are overlaid: they name the runs (the titles explain the rest)."""
        current = self.history.run_dir.name if self.history is not None and self.history.run_dir else "this run"
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
        """name -> {"loss"|"psnr": (x, y)} of the overlaid runs (for tests and checks)."""
        out: dict[str, dict[str, tuple]] = {}
        for plot, item, name in self._overlay_items:
            out.setdefault(name, {})["loss" if plot is self.loss_plot else "psnr"] = item.getOriginalDataset()
        return out

    # ================================================================== using the model

    def model_file(self, which: str = "best") -> Path | None:
        """The run's model file (best, else newest), or None when none was saved yet."""
        if self.history is None or self.history.run_dir is None:
            return None
        names = ["model_best.safetensors", "model_last.safetensors"] if which == "best" else [
            "model_last.safetensors", "model_best.safetensors"]
        for name in names:
            path = self.history.run_dir / name
            if path.is_file():
                return path
        return None

    def run_dir(self) -> Path | None:
        """The folder of the run the panel shows (live, resumed or opened), if any."""
        return self.history.run_dir if self.history is not None else None

    def use_model(self, which: str | None = None) -> Path | None:
        """Make the run's best (or newest) model the window's upscale model, at the run's scale."""
        which = which or str(self.which_box.currentData())
        path = self.model_file(which)
        if path is None:
            every = self.history.config.get("save_every") if self.history is not None else None
            when = f" (every {every:,} steps, and at Stop)" if isinstance(every, int) else ""
            self.show_message(f"No model saved yet: one is written with each checkpoint{when}.", "warning")
            return None
        config = self.history.config
        scale = int(config.get("scale", 2))
        kind = "best" if path.name == "model_best.safetensors" else "newest"
        label = f"{path.parent.name} · {kind} (×{scale})"
        win = self.main_window
        win._user_models[str(path)] = label
        win.settings.setValue("models/opened", list(win._user_models))
        win._select(win.scale_box, scale)
        win._refresh_models(select=str(path))
        # The worker caches loaded models by path: drop them so the file as it is now is read.
        self._own_jobs.add(win.worker.submit("Forget cached models", lambda ctx: ctx.models.clear()))
        waits = " (upscaling waits until the run stops)" if self.is_live else ""
        text = f"Upscale model: {label}{waits}"
        win._set_status(text)
        self.show_message(text, "info")
        return path

    # ================================================================== display

    @property
    def smoothing(self) -> float:
        return self.smooth_slider.value() / 100.0

    def _smoothing_changed(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        self._dirty.add("loss")
        if hasattr(self, "runs_list"):
            self._rebuild_overlays()
            self.refresh()

    def _log_toggled(self, checked: bool) -> None:
        self.loss_plot.setLogMode(y=checked)

    def _show_history(self, history: RunHistory) -> None:
        self.history = history
        self._shown_version = -1
        self._plotted = {}
        self._dirty = {"loss", "psnr", "lr", "ssim"}
        self._shown_messages = 0
        self._shown_previews = []
        self._preview_follow = True
        self.log.clear()
        name = history.run_dir.name if history.run_dir else "run"
        cfg = history.config
        detail = f"  ·  {cfg.get('preset')} ×{cfg.get('scale')}" if cfg else ""
        self.run_title.setText(f"{name}{detail}")
        self.run_title.setToolTip(str(history.run_dir or ""))
        self._rebuild_overlays()
        for plot in (self.loss_plot, self.psnr_plot, self.lr_plot, self.ssim_plot):
            plot.enableAutoRange()
        self.refresh()

    def plot_data(self, name: str) -> tuple:
        """(x, y) given to a curve: loss, loss_ema, lr, psnr, ssim or best."""
        data = self.curves[name].getOriginalDataset()
        return data if data[0] is not None else ((), ())

    def refresh(self) -> None:
        """Redraw from the history (timer, 4 Hz); cheap when nothing changed."""
        self._refreshes += 1
        run = self._run
        if run is not None and not run.ended and run.ctx is not None and run.ctx.cancelled():
            if not run.trainer.stop_requested:
                run.trainer.stop()
        history = self.history
        if history is not None and (run is None or history is not run.history) and self._refreshes % FOLLOW_EVERY == 0:
            if self.isVisible():
                history.update_from_metrics()  # follows a run trained elsewhere (e.g. `nlsn train`)
        if self._refreshes % (FOLLOW_EVERY * 2) == 0 and self._overlay_items and self.isVisible():
            self._follow_overlays()
        if history is not None and history.version != self._shown_version:
            self._draw(history.snapshot())
        live = run is not None and not run.ended and history is run.history
        self._draw_plots(all_of_them=not live)
        self._update_queue()
        self._update_controls()

    def _follow_overlays(self) -> None:
        changed = False
        for key, history in self._overlays.items():
            if Path(key) in self.checked_runs() and history.update_from_metrics():
                changed = True
        if changed:
            self._rebuild_overlays()

    def _draw(self, snap: HistorySnapshot) -> None:
        """Everything but the plots at once; the plots whose data changed are marked for redrawing."""
        history = self.history
        self._shown_version = snap.version
        self._snap = snap
        if len(snap.steps) != self._plotted.get("train") or snap.step != self._plotted.get("step"):
            self._dirty.update(("loss", "lr"))
        if len(snap.val_steps) != self._plotted.get("val"):
            self._dirty.update(("psnr", "ssim"))
        self._plotted.update(train=len(snap.steps), val=len(snap.val_steps), step=snap.step)
        for level, text in history.messages(self._shown_messages):
            self._log_line(level, text)
            self._shown_messages += 1
        if snap.preview_steps != self._shown_previews:
            self._shown_previews = list(snap.preview_steps)
            count = len(snap.preview_steps)
            self.preview_slider.blockSignals(True)
            self.preview_slider.setRange(0, max(count - 1, 0))
            if self._preview_follow or self.preview_slider.value() >= count:
                self.preview_slider.setValue(max(count - 1, 0))
            self.preview_slider.blockSignals(False)
            self.preview_slider.setEnabled(count > 1)
            self._show_preview(self.preview_slider.value())
        self._update_stats(snap)

    def _draw_plots(self, *, all_of_them: bool) -> None:
        """Give the marked plots their data: one per call while training (the next in turn), else all."""
        order = ["loss", "psnr", "lr", "ssim"]
        while self._dirty and self._snap is not None:
            start = (order.index(self._last_plot) + 1) % 4 if self._last_plot in order else 0
            key = next(order[(start + i) % 4] for i in range(4) if order[(start + i) % 4] in self._dirty)
            self._dirty.discard(key)
            self._last_plot = key
            self._draw_plot(key, self._snap)
            if not all_of_them:
                break

    def _draw_plot(self, key: str, snap: HistorySnapshot) -> None:
        if key == "loss":
            self.curves["loss"].setData(snap.steps, snap.losses)
            self.curves["loss_ema"].setData(snap.steps, self.history.ema(self.smoothing))
        elif key == "lr":
            self.curves["lr"].setData(snap.steps, snap.lrs)
            top = max((v for v in snap.lrs.tolist() if math.isfinite(v)), default=0.0)
            if top > 0:  # from zero, so a halving reads as one (and a constant rate gets an axis)
                self.lr_plot.setYRange(0, top * 1.15, padding=0)
        elif key == "ssim":
            self.curves["ssim"].setData(snap.val_steps, snap.ssim)
        elif key == "psnr":
            self.curves["psnr"].setData(snap.val_steps, snap.psnr)
            if snap.best_step is not None:
                self.curves["best"].setData([snap.best_step], [snap.best_psnr])
                self._set_title(self.psnr_plot,
                                f"Validation PSNR (dB): best {snap.best_psnr:.2f} at step {snap.best_step:,}")
            else:
                self.curves["best"].setData([], [])
                self._set_title(self.psnr_plot, "Validation PSNR (dB)")

    def _set_title(self, plot: pg.PlotItem, text: str) -> None:
        if plot.title_text != text:
            plot.title_text = text
            plot.setTitle(text, size="9pt", color=pg.getConfigOption("foreground"))

    def _update_stats(self, snap: HistorySnapshot) -> None:
        if snap.preparing is not None and snap.finished is None:
            done, total = snap.preparing
            self.stats_label.setText(f"preparing the training images: {done:,} / {total:,}")
            self.stats_label.setToolTip("Each image is read and downscaled once, then cached in the run folder")
            self.progress.setValue(int(1000 * done / max(total, 1)))
            self.progress.setFormat(f"images {100 * done / max(total, 1):.0f}%")
            return
        iters = snap.iters or self.history.config.get("iters")
        parts = [f"step {snap.step:,}" + (f" / {iters:,}" if iters else "")]
        if len(snap.it_s):
            parts.append(f"{snap.it_s[-1]:.2f} it/s")
        if self.is_live and self.history is self._run.history and math.isfinite(snap.eta_s):
            parts.append(f"ETA {format_duration(snap.eta_s)}")
        if snap.memory_bytes:
            parts.append(f"{format_bytes(snap.memory_bytes)}")
        if len(snap.losses):
            parts.append(f"loss {snap.losses[-1]:.4f}")
        self.stats_label.setText("  ·  ".join(parts))
        self.stats_label.setToolTip("Step, speed, time left, memory (peak on a GPU, resident on the CPU), last loss")
        if iters:
            self.progress.setValue(int(1000 * min(snap.step / iters, 1.0)))
            self.progress.setFormat(f"{100 * snap.step / iters:.1f}%")
        else:
            self.progress.setValue(0)
            self.progress.setFormat("")

    def _preview_moved(self, index: int) -> None:
        self._preview_follow = index >= self.preview_slider.maximum()
        self._show_preview(index)

    def preview_index(self) -> int:
        return self.preview_slider.value()

    def _show_preview(self, index: int) -> None:
        steps = self._shown_previews
        image = self.history.preview(index) if self.history is not None and steps else None
        if image is None:
            self.preview_item.clear()
            self.preview_stack.setCurrentWidget(self.preview_empty)
            self.preview_label.setText("–")
            return
        self.preview_stack.setCurrentWidget(self.preview_view)
        resize = self.preview_item.image is None or self.preview_item.image.shape != image.shape
        self.preview_item.setImage(image, autoLevels=False, levels=(0, 255))
        if resize:
            self.preview_box.autoRange(padding=0.02)
        step = steps[index]
        snap_psnr = ""
        snap = self.history.snapshot()
        matches = [i for i, s in enumerate(snap.val_steps.tolist()) if s == step]
        if matches:
            snap_psnr = f" · {snap.psnr[matches[0]]:.2f} dB"
        self.preview_label.setText(f"{index + 1}/{len(steps)} · step {step:,}{snap_psnr}")

    def preview_image(self):
        """The pixels shown in the preview (for tests)."""
        return self.preview_item.image

    def _update_queue(self) -> None:
        """Say which jobs wait behind the run; the status bar says so once per job."""
        if not self.is_live:
            return
        waiting = {jid: name for jid, name in self.main_window.worker.pending().items()
                   if jid not in self._own_jobs}
        for jid, name in waiting.items():
            if jid not in self._announced:
                self._announced.add(jid)
                self.main_window._set_status(f"{name} is queued: the worker is training. Stop the run to do it now.")
        text = ("The run uses the app's worker: upscaling and opening images wait until it stops or ends "
                "(Pause keeps the worker reserved).")
        if waiting:
            text = f"Waiting for the worker: {', '.join(waiting.values())}. They run when the training stops or ends."
        if self.queue_label.text() != text:
            self.queue_label.setText(text)
            self.queue_label.setEnabled(bool(waiting))

    def queue_text(self) -> str:
        return self.queue_label.text()

    def _update_controls(self) -> None:
        state = self.state
        live = self.is_live
        started = live and self._run.started
        self.start_button.setEnabled(not live)
        self.start_button.setText("Resume run" if self._resume_dir is not None else "Start")
        self.pause_button.setEnabled(started and state in ("running", "preparing"))
        self.resume_button.setEnabled(live and state in ("paused", "pausing"))
        self.stop_button.setEnabled(live and state not in ("stopping",))
        for widget in self._form_widgets:
            widget.setEnabled(not live and self._resume_dir is None)
        self.iters_spin.setEnabled(not live)
        self.device_box.setEnabled(not live)
        self.precision_box.setEnabled(not live)
        self.resume_run_button.setEnabled(not live)
        self.run_resume.setEnabled(not live and self.runs_list.currentItem() is not None)
        self.run_open.setEnabled(self.runs_list.currentItem() is not None)
        self.run_remove.setEnabled(self.runs_list.currentItem() is not None)
        self.use_button.setEnabled(self.history is not None and self.history.run_dir is not None)
        self.progress.setVisible(self.history is not None)
        self.which_box.setEnabled(self.use_button.isEnabled())
        if state != self._last_state:
            self._last_state = state
            text, colour = STATE_TEXT.get(state, (state.capitalize(), None))
            dot = f"<span style='color:{colour}'>●</span> " if colour else ""
            self.state_label.setText(f"{dot}<b>{text}</b>")
            self.stateChanged.emit(state)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        warm_up()  # in the background, while the user reads the form
        super().showEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.PaletteChange:  # the theme changed: plots follow it
            palette = self.palette()
            background, foreground = palette.color(QPalette.Base), palette.color(QPalette.Text)
            for view in (*self.plot_widgets.values(), self.preview_view):
                view.setBackground(background)
            for plot in (self.loss_plot, self.psnr_plot, self.lr_plot, self.ssim_plot):
                for axis in ("left", "bottom"):
                    plot.getAxis(axis).setPen(foreground)
                    plot.getAxis(axis).setTextPen(foreground)
                plot.setTitle(plot.title_text, size="9pt", color=foreground)
        super().changeEvent(event)


def install_training_panel(window: QMainWindow) -> TrainingPanel:
    """Add the training panel to the main window as a dock ("training-dock", bottom area, hidden
    until View › Training Panel, Ctrl+T, shows it) and return the panel.

    The window's closeEvent should call ``panel.confirm_close()`` first (ignore the close when it
    returns False).
    """
    panel = TrainingPanel(window)
    dock = QDockWidget("Training", window)
    dock.setObjectName("training-dock")
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
    others = [d for d in window.findChildren(QDockWidget)
              if d is not dock and not d.isFloating() and window.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    if others:
        window.tabifyDockWidget(others[0], dock)
    # The window restored its layout before the dock existed: restore the dock's part of it now,
    # when the saved layout knows the dock; otherwise a new user sees the upscaler first.
    state = window.settings.value("window/state")
    known = isinstance(state, QByteArray) and "training-dock".encode("utf-16-be") in bytes(state)
    restored = known and window.restoreDockWidget(dock)
    if not restored:
        dock.hide()
    panel.dock = dock
    sized = {"done": restored}

    def shown(visible: bool) -> None:
        if visible and not sized["done"]:
            sized["done"] = True
            QTimer.singleShot(0, lambda: window.resizeDocks([dock], [int(window.height() * 0.5)], Qt.Vertical))

    dock.visibilityChanged.connect(shown)

    action = dock.toggleViewAction()
    action.setText("Training Panel")
    action.setShortcut(QKeySequence("Ctrl+T"))
    action.setStatusTip("Show or hide the training panel: train, watch and compare NLSN runs")
    action.triggered.connect(lambda checked: dock.raise_() if checked else None)
    menus = [a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"]
    menu = menus[0] if menus and menus[0] is not None else window.menuBar().addMenu("&View")
    menu.addSeparator()
    menu.addAction(action)
    window.addAction(action)
    panel.toggle_action = action
    return panel
