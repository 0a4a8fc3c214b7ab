"""The training panel's Setup tab: every setting of a run, remembered between launches.

It turns into a :class:`~core.train.TrainConfig` (:meth:`SetupForm.config`), or shows a run's
settings to resume it (then only the iterations, the device and the precision can change).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.base.errors import NLSNError
from core.inference import available_devices
from core.network import PRESETS, describe
from core.train import TrainConfig, default_data_dirs, default_val_dir
from nlsn_gui.qt.training.path_field import PathField
from nlsn_gui.state.store import Store, read_list
from nlsn_gui.state.training import QUEUE_HINT, SETTINGS, default_run_dir, device_defaults
from resources import MODELS_DIR

# The number boxes of the form, by TrainConfig field (also their settings key).
SPIN_FIELDS = ("patch", "batch", "iters", "warmup", "lr_halve_every", "val_every", "save_every", "log_every",
               "seed", "keep_every")


def choose(box: QComboBox, data) -> None:
    """Select the entry holding ``data`` (announced, as a user's choice is)."""
    index = box.findData(data)
    if index >= 0:
        box.setCurrentIndex(index)


class SetupForm(QScrollArea):
    resumeChosen = Signal(Path)  # Resume run… picked this run folder

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.defaults = device_defaults(available_devices()[0])  # what Auto resolves to
        self.resume_dir: Path | None = None
        self.resume_config: TrainConfig | None = None
        self._out_auto = True
        self._pair_labels: list[QLabel] = []
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._build())
        column.addStretch(1)  # spare height goes below the form, not into its rows
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.NoFrame)
        self.setWidget(content)
        self.restore()

    def timing_widgets(self) -> tuple[QWidget, ...]:
        """The settings a step's time depends on."""
        return (self.scale_box, self.preset_box, self.patch_spin, self.batch_spin, self.device_box,
                self.precision_box)

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

    def _build(self) -> QFormLayout:
        defaults = self.defaults
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

        self.val_folder = PathField("Validation folder", "none: no validation")
        self.val_folder.setToolTip("Benchmark folder (e.g. Set5) scored at every validation; empty: no validation")
        form.addRow("Validation folder", self.val_folder)

        self.scale_box = QComboBox()
        for s in (2, 3, 4):
            self.scale_box.addItem(f"×{s}", s)
        self.preset_box = QComboBox()
        for name, cfg in PRESETS.items():
            self.preset_box.addItem(name, name)
            self.preset_box.setItemData(self.preset_box.count() - 1, describe(cfg), Qt.ToolTipRole)
        self.preset_box.setToolTip("Network configuration: paper (the published NLSN), light, "
                                   "or tiny (for trying things)")
        form.addRow("Scale", self._pair_row(self.scale_box, "Configuration", self.preset_box, stretch_left=False))

        self.patch_spin = self._spin(8, 512, defaults.patch, suffix=" px", step=8,
                                     tip="Size of the LR training patches (paper: 48)")
        self.batch_spin = self._spin(1, 1024, defaults.batch, tip="Patches per step (paper: 16)")
        form.addRow("Patch", self._pair_row(self.patch_spin, "Batch", self.batch_spin))

        self.init_field = PathField("Model to start from", "random weights (a new model)",
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
        self.time_label = QLabel()
        self.time_label.setWordWrap(True)
        self.time_label.setToolTip("One step of this configuration, timed on its device (validations and "
                                   "checkpoints come on top); the live speed takes over once the run starts")
        form.addRow("", self.time_label)

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
            "bf16 mixed precision (about 2x faster measured on a CPU with AVX-512 BF16; for such CPUs, AMX "
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

        self.out_folder = PathField("Output folder for the run")
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

        self.queue_label = QLabel(QUEUE_HINT)
        self.queue_label.setWordWrap(True)
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

        return form

    def _spin(self, low: int, high: int, value: int, *, suffix: str = "", step: int = 1, tip: str = "") -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.setSingleStep(step)
        box.setSuffix(suffix)
        box.setGroupSeparatorShown(True)
        box.setToolTip(tip)
        return box

    def spins(self) -> tuple[tuple[str, QSpinBox], ...]:
        return tuple((name, getattr(self, f"{name}_spin" if name != "lr_halve_every" else "halve_spin"))
                     for name in SPIN_FIELDS)

    # ------------------------------------------------------------------ remembered settings

    def restore(self) -> None:
        s, defaults = self.store, self.defaults
        saved = s.value(f"{SETTINGS}/data")
        self.set_training_folders([str(p) for p in default_data_dirs()] if saved is None
                                  else read_list(s, f"{SETTINGS}/data"))
        val = s.value(f"{SETTINGS}/val")
        if val is None:
            default = default_val_dir()
            val = str(default) if default else ""
        self.val_folder.setText(str(val))
        choose(self.scale_box, int(s.value(f"{SETTINGS}/scale", defaults.scale)))
        choose(self.preset_box, str(s.value(f"{SETTINGS}/preset", defaults.preset)))
        for key, box in self.spins():
            box.setValue(int(s.value(f"{SETTINGS}/{key}", getattr(defaults, key))))
        self.init_field.setText(str(s.value(f"{SETTINGS}/init_from", "")))
        self.lr_edit.setText(str(s.value(f"{SETTINGS}/lr", f"{defaults.lr:g}")))
        choose(self.device_box, str(s.value(f"{SETTINGS}/device", "auto")))
        choose(self.precision_box, str(s.value(f"{SETTINGS}/precision", defaults.precision)))
        try:
            self.ema_spin.setValue(float(s.value(f"{SETTINGS}/ema_decay", defaults.ema_decay)))
        except (TypeError, ValueError):
            self.ema_spin.setValue(defaults.ema_decay)
        self._auto_out()

    def save(self) -> None:
        s = self.store
        s.setValue(f"{SETTINGS}/data", self.training_folders())
        s.setValue(f"{SETTINGS}/val", self.val_folder.text())
        s.setValue(f"{SETTINGS}/scale", self.scale_box.currentData())
        s.setValue(f"{SETTINGS}/preset", self.preset_box.currentData())
        for key, box in self.spins():
            s.setValue(f"{SETTINGS}/{key}", box.value())
        s.setValue(f"{SETTINGS}/init_from", self.init_field.text())
        s.setValue(f"{SETTINGS}/lr", self.lr_edit.text())
        s.setValue(f"{SETTINGS}/device", self.device_box.currentData())
        s.setValue(f"{SETTINGS}/precision", self.precision_box.currentData())
        s.setValue(f"{SETTINGS}/ema_decay", self.ema_spin.value())
        if not self._out_auto and self.resume_dir is None and self.out_folder.text():
            s.setValue(f"{SETTINGS}/out_root", str(Path(self.out_folder.text()).parent))

    # ------------------------------------------------------------------ folders

    def training_folders(self) -> list[str]:
        return [self.data_list.item(i).text() for i in range(self.data_list.count())]

    def set_training_folders(self, folders: list[str]) -> None:
        self.data_list.clear()
        for folder in folders:
            self.data_list.addItem(str(folder))

    def _add_data_folder(self) -> None:
        folders = self.training_folders()
        path = QFileDialog.getExistingDirectory(self, "Add a training folder", folders[-1] if folders else str(Path.home()))
        if path and path not in folders:
            self.data_list.addItem(path)

    def _remove_data_folders(self) -> None:
        current = self.data_list.currentItem()
        for item in self.data_list.selectedItems() or ([current] if current is not None else []):
            self.data_list.takeItem(self.data_list.row(item))

    def out_root(self) -> Path:
        saved = self.store.value(f"{SETTINGS}/out_root")
        return Path(str(saved)) if saved else Path.home() / "NLSN runs"

    def _auto_out(self) -> None:
        if self._out_auto and self.resume_dir is None:
            preset, scale = str(self.preset_box.currentData()), int(self.scale_box.currentData())
            self.out_folder.setText(str(default_run_dir(preset, scale, self.out_root())))

    def _out_edited(self) -> None:
        self._out_auto = False

    def _browse_out(self) -> None:
        start = Path(self.out_folder.text()).parent if self.out_folder.text() else self.out_root()
        while not start.is_dir() and start.parent != start:
            start = start.parent
        path = QFileDialog.getExistingDirectory(self, "Folder that will hold the run", str(start))
        if path:
            self.store.setValue(f"{SETTINGS}/out_root", path)
            self._out_auto = True
            self._auto_out()

    def run_dir(self) -> Path | None:
        """Where the run set up here goes: the resumed run's folder, or the output folder (a fresh
        time stamp for every new run while it is chosen automatically)."""
        if self.resume_dir is not None:
            return self.resume_dir
        if self._out_auto:
            self._auto_out()
        return Path(self.out_folder.text()).expanduser() if self.out_folder.text() else None

    # ------------------------------------------------------------------ the run's settings

    def config(self) -> TrainConfig:
        """The run's settings as the form shows them (NLSNError with a readable line when invalid)."""
        text = self.lr_edit.text().strip()
        try:
            lr = float(text)
        except ValueError:
            raise NLSNError(f"learning rate: {text!r} is not a number (e.g. 1e-4)") from None
        if self.resume_config is not None:
            config = TrainConfig.from_dict(self.resume_config.to_dict())
            config.iters = self.iters_spin.value()
            config.device = str(self.device_box.currentData())
            config.precision = str(self.precision_box.currentData())
            return config
        return TrainConfig(
            data=self.training_folders(),
            scale=int(self.scale_box.currentData()),
            preset=str(self.preset_box.currentData()),
            val=self.val_folder.text() or None,
            lr=lr,
            device=str(self.device_box.currentData()),
            precision=str(self.precision_box.currentData()),
            ema_decay=self.ema_spin.value(),
            init_from=self.init_field.text() or None,
            **{key: box.value() for key, box in self.spins()},
        )

    def _fill(self, config: TrainConfig) -> None:
        self.set_training_folders(list(config.data))
        self.val_folder.setText(config.val or "")
        choose(self.scale_box, config.scale)
        choose(self.preset_box, config.preset)
        for key, box in self.spins():
            box.setValue(getattr(config, key))
        self.init_field.setText(config.init_from or "")
        self.lr_edit.setText(f"{config.lr:g}")
        choose(self.device_box, config.device)
        choose(self.precision_box, config.precision)
        self.ema_spin.setValue(config.ema_decay)

    def _resume_dialog(self) -> None:
        root = self.out_root()
        path = QFileDialog.getExistingDirectory(self, "Resume a training run", str(root if root.is_dir() else Path.home()))
        if path:
            self.resumeChosen.emit(Path(path))

    def set_resume(self, run_dir: Path, config: TrainConfig) -> None:
        """Show ``run_dir``'s settings, to continue it from its checkpoint."""
        self.resume_dir, self.resume_config = run_dir, config
        self._fill(config)
        self.out_folder.setText(str(run_dir))
        self.mode_label.setText(f"<b>Resuming {run_dir.name}</b> from its checkpoint: only the iterations, "
                                "the device and the precision can change.")
        self.mode_label.show()
        self.new_run_button.show()

    def new_run(self) -> None:
        """Leave the resumed run: set up a new one."""
        self.resume_dir = self.resume_config = None
        self.mode_label.hide()
        self.new_run_button.hide()
        self._out_auto = True
        self._auto_out()

    def set_live(self, live: bool) -> None:
        """While a run trains nothing changes; a resumed run changes its iterations, device, precision."""
        for widget in self._form_widgets:
            widget.setEnabled(not live and self.resume_dir is None)
        for widget in (self.iters_spin, self.device_box, self.precision_box, self.resume_run_button):
            widget.setEnabled(not live)
