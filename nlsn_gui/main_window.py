"""The main window: open an image, upscale it with NLSN, compare, save, batch a folder.

Everything heavy (decoding, bicubic, the network, encoding) runs on the worker thread through
``core/``; this module only wires widgets, settings and jobs together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolBar,
    QWidget,
)

from core.base.errors import NLSNError
from core.image import SUPPORTED_READ, SUPPORTED_WRITE, Image
from core.inference import available_devices
from core.checkpoints import MODEL_SUFFIXES, bundled_models
from resources import SAMPLES_DIR
from core.eval.compare import Comparison
from nlsn_gui import jobs
from nlsn_gui.compare import CompareView, Panel
from nlsn_gui.worker import WorkerThread

MAX_RECENT = 10
SCALES = (2, 3, 4)
OPEN_MODEL = "__open__"
ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "nlsn.png"


def image_filter() -> str:
    patterns = " ".join(f"*{ext}" for ext in SUPPORTED_READ)
    return f"Images ({patterns});;All files (*)"


def save_filter() -> str:
    names = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF", ".webp": "WebP", ".bmp": "BMP"}
    return ";;".join(f"{label} (*{ext})" for ext, label in names.items())


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


@dataclass
class Document:
    """The opened image and what has been computed from it."""

    image: Image
    name: str
    path: Path | None = None
    comparison: Comparison | None = None
    displays: dict[str, np.ndarray] = field(default_factory=dict)


class MainWindow(QMainWindow):
    def __init__(self, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.worker = WorkerThread(self)
        self.doc: Document | None = None
        self._job_kind: dict[int, str] = {}
        self._user_models: dict[str, str] = {}  # path -> label
        self.setWindowTitle("NLSN Studio")
        if ICON.is_file():
            self.setWindowIcon(QIcon(str(ICON)))
        self.setAcceptDrops(True)

        self.compare = CompareView(self)
        self.setCentralWidget(self.compare)
        self._build_actions()
        self._build_toolbar()
        self._build_inspector()
        self._build_menus()
        self._build_status_bar()

        w = self.worker.worker
        w.started.connect(self._job_started)
        w.progress.connect(self._job_progress)
        w.finished.connect(self._job_finished)
        w.failed.connect(self._job_failed)
        w.cancelled.connect(self._job_cancelled)
        self.worker.busyChanged.connect(self._busy_changed)
        from nlsn_gui.training_panel import install_training_panel

        self.training_panel = install_training_panel(self)
        self._restore_settings()
        self._refresh_models()
        self._update_actions()

    # ------------------------------------------------------------------ building

    def _action(self, text: str, slot, shortcut=None, *, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.NativeText)})" if shortcut else tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_open = self._action("&Open Image…", self.open_dialog, QKeySequence.Open, tip="Open an image")
        self.act_paste = self._action("&Paste Image", self.paste, QKeySequence.Paste, tip="Paste an image from the clipboard")
        self.act_sample = self._action("Open &Sample Image", self.open_sample)
        self.act_save = self._action("&Save Result As…", self.save_dialog, QKeySequence.Save, tip="Save the NLSN result")
        self.act_batch = self._action("&Batch Process Folder…", self.batch_dialog, "Ctrl+B",
                                      tip="Upscale every image of a folder")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit)
        self.act_model = self._action("Open &Model…", self.open_model_dialog, "Ctrl+M",
                                      tip="Load a released NLSN .pt or a project .safetensors model")
        self.act_average = self._action("&Average Models…", self.average_dialog,
                                        tip="Average the weights of several models of one configuration "
                                            "(e.g. a run's snapshots) into a new model")
        self.act_upscale = self._action("&Upscale", self.upscale, "Ctrl+Return", tip="Run NLSN on the image")
        self.act_cancel = self._action("&Cancel", self.cancel, "Esc", tip="Stop the running job")
        self.act_fit = self._action("Zoom to &Fit", lambda: self.compare.zoom_fit(), "F")
        self.act_zooms = [
            self._action(f"Zoom {p}%", lambda checked=False, p=p: self.compare.set_zoom(p), key)
            for p, key in ((100, "1"), (200, "2"), (400, "4"), (800, "8"))
        ]
        self.act_swipe = self._action("S&wipe Mode", self._toggle_swipe, "S")
        self.act_swipe.setCheckable(True)
        self.act_about = self._action("&About NLSN Studio", self.about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.addToolBar(Qt.TopToolBarArea, bar)
        bar.addAction(self.act_open)
        bar.addAction(self.act_save)
        bar.addSeparator()

        def labelled(text: str, widget: QWidget, tip: str) -> None:
            label = QLabel(text)
            label.setContentsMargins(8, 0, 4, 0)
            widget.setToolTip(tip)
            bar.addWidget(label)
            bar.addWidget(widget)

        self.mode_box = QComboBox()
        self.mode_box.addItem("Upscale the image", "upscale")
        self.mode_box.addItem("Simulate from HR", "simulate")
        labelled("Mode", self.mode_box,
                 "Upscale: the image is the low-resolution input.\n"
                 "Simulate: the image is the truth; it is downscaled (MATLAB bicubic), upscaled and scored.")
        self.scale_box = QComboBox()
        for s in SCALES:
            self.scale_box.addItem(f"×{s}", s)
        labelled("Scale", self.scale_box, "Upscaling factor")
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(18)
        self.model_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        labelled("Model", self.model_box, "Bundled model for the scale, or a model file you opened")
        self.device_box = QComboBox()
        for name in available_devices():
            self.device_box.addItem(name.upper() if name != "cpu" else "CPU", name)
        labelled("Device", self.device_box, "Where the network runs")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        labelled("Seed", self.seed_box, "Seed of the random hash rotations of the sparse attention")
        bar.addSeparator()
        self.upscale_button = QPushButton("Upscale")
        self.upscale_button.setDefault(True)
        self.upscale_button.setToolTip("Run NLSN (Ctrl+Enter)")
        self.upscale_button.clicked.connect(self.upscale)
        self.upscale_button.setMinimumWidth(96)
        bar.addWidget(self.upscale_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        bar.addWidget(self.cancel_button)

        self.mode_box.currentIndexChanged.connect(self._inputs_changed)
        self.scale_box.currentIndexChanged.connect(self._scale_changed)
        self.model_box.activated.connect(self._model_activated)

    def _build_inspector(self) -> None:
        """The attention inspector in a dock on the right (hidden until View > Attention Inspector)."""
        from nlsn_gui.inspector import InspectorPanel

        self.inspector = InspectorPanel(self)
        scroll = QScrollArea()
        scroll.setWidget(self.inspector)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        dock = QDockWidget("Attention inspector", self)
        dock.setObjectName("inspector-dock")  # saveState / restoreState remember it
        dock.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [400], Qt.Horizontal)  # a first width; the window state keeps the user's
        dock.hide()
        dock.visibilityChanged.connect(self.inspector.set_active)
        self.inspector_dock = dock
        self.act_inspector = dock.toggleViewAction()
        self.act_inspector.setText("Attention &Inspector")
        self.act_inspector.setShortcut(QKeySequence("Ctrl+I"))
        self.act_inspector.setStatusTip("Hash buckets and per-pixel attention of the sparse attention modules")
        self.addAction(self.act_inspector)
        self.inspector.seed_box.setValue(self.seed_box.value())
        self.seed_box.valueChanged.connect(self.inspector.seed_box.setValue)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.act_open)
        self.recent_menu = menu.addMenu("Open &Recent")
        menu.addAction(self.act_paste)
        menu.addAction(self.act_sample)
        menu.addSeparator()
        menu.addAction(self.act_save)
        menu.addAction(self.act_batch)
        menu.addSeparator()
        menu.addAction(self.act_quit)
        menu = self.menuBar().addMenu("&Model")
        menu.addAction(self.act_model)
        menu.addAction(self.act_average)
        menu.addSeparator()
        menu.addAction(self.act_upscale)
        menu.addAction(self.act_cancel)
        menu = self.menuBar().addMenu("&View")
        menu.addAction(self.act_fit)
        for action in self.act_zooms:
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.act_swipe)
        menu.addAction(self.act_inspector)
        theme = menu.addMenu("&Theme")
        from nlsn_gui.theme import THEMES

        for key, label in THEMES.items():
            action = theme.addAction(label)
            action.setCheckable(True)
            action.setData(key)
            action.triggered.connect(lambda checked=False, k=key: self.set_theme(k))
        self.theme_menu = theme
        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self.act_about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QLabel("Ready")
        bar.addWidget(self.status_label, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        bar.addPermanentWidget(self.progress)
        self.info_label = QLabel("")
        bar.addPermanentWidget(self.info_label)

    # ------------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            screen = QApplication.primaryScreen()
            area = screen.availableGeometry() if screen is not None else None
            if area is not None and area.width() > 0:
                self.resize(int(area.width() * 0.9), int(area.height() * 0.9))
            else:
                self.resize(1440, 860)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self._select(self.mode_box, s.value("upscale/mode", "upscale"))
        self._select(self.scale_box, int(s.value("upscale/scale", 2)))
        self._select(self.device_box, s.value("upscale/device", self.device_box.itemData(0)))
        self.seed_box.setValue(int(s.value("upscale/seed", 0)))
        for path in s.value("models/opened", []) or []:
            if Path(path).is_file():
                self._user_models[path] = Path(path).name
        self._update_recent_menu()
        self._check_theme(str(s.value("view/theme", "system")))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("upscale/mode", self.mode_box.currentData())
        s.setValue("upscale/scale", self.scale_box.currentData())
        s.setValue("upscale/device", self.device_box.currentData())
        s.setValue("upscale/seed", self.seed_box.value())
        s.setValue("models/opened", list(self._user_models))
        s.sync()

    @staticmethod
    def _select(box: QComboBox, data) -> None:
        index = box.findData(data)
        if index >= 0:
            box.setCurrentIndex(index)

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _add_recent(self, path: Path) -> None:
        files = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("files/recent", files[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, path in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{i % 10} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(Path(p)))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.setValue("files/recent", [])
        self._update_recent_menu()

    def set_theme(self, key: str) -> None:
        from nlsn_gui.theme import apply_theme

        apply_theme(QApplication.instance(), key)
        self.settings.setValue("view/theme", key)
        self._check_theme(key)

    def _check_theme(self, key: str) -> None:
        for action in self.theme_menu.actions():
            action.setChecked(action.data() == key)

    # ------------------------------------------------------------------ models

    @property
    def scale(self) -> int:
        return int(self.scale_box.currentData())

    @property
    def mode(self) -> str:
        return str(self.mode_box.currentData())

    def _refresh_models(self, select: str | None = None) -> None:
        current = select or self.model_box.currentData()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for name, path in bundled_models().items():
            if name.endswith(f"-x{self.scale}"):
                self.model_box.addItem(f"{name} (bundled)", str(path))
        for path, label in self._user_models.items():
            self.model_box.addItem(label, path)
        if self.model_box.count() == 0:
            self.model_box.addItem(f"no x{self.scale} model: open one…", OPEN_MODEL)
        else:
            self.model_box.insertSeparator(self.model_box.count())
            self.model_box.addItem("Open model…", OPEN_MODEL)
        index = self.model_box.findData(current) if current not in (None, OPEN_MODEL) else -1
        self.model_box.setCurrentIndex(max(index, 0))
        self.model_box.blockSignals(False)

    def _model_activated(self, _index: int) -> None:
        if self.model_box.currentData() == OPEN_MODEL:
            self._refresh_models()
            self.open_model_dialog()

    def model_path(self) -> str | None:
        data = self.model_box.currentData()
        return None if data in (None, OPEN_MODEL) else str(data)

    def open_model_dialog(self) -> None:
        start = str(self.settings.value("files/model_dir", str(Path.home())))
        patterns = " ".join(f"*{s}" for s in MODEL_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open NLSN model", start, f"NLSN models ({patterns});;All files (*)")
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path) -> None:
        """Check a model file on the worker; on success it becomes the model of its scale."""
        self.settings.setValue("files/model_dir", str(path.parent))
        self._submit("model", f"Loading model {path.name}", jobs.inspect_model(path))

    def average_dialog(self) -> None:
        """Pick model files (a run's snapshots, say) and a target; the average becomes the model."""
        run_dir = self.training_panel.run_dir()
        snapshots = run_dir / "snapshots" if run_dir is not None else None
        if snapshots is not None and snapshots.is_dir():
            start = str(snapshots)
        else:
            start = str(self.settings.value("files/model_dir", str(Path.home())))
        patterns = " ".join(f"*{s}" for s in MODEL_SUFFIXES)
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Models to average (one configuration)", start, f"NLSN models ({patterns});;All files (*)")
        if not paths:
            return
        if len(paths) < 2:
            self._show_error("Choose two or more model files to average (e.g. a run's snapshots, with Shift).")
            return
        paths = [Path(p) for p in paths]
        folder = paths[0].parent
        # A run's snapshots: the average goes beside the run's own models.
        target = (folder.parent / "model_average.safetensors" if folder.name == "snapshots"
                  else folder / "average.safetensors")
        out, _ = QFileDialog.getSaveFileName(self, "Save the average as", str(target),
                                             "NLSN models (*.safetensors)")
        if out:
            self.average_models(paths, Path(out))

    def average_models(self, paths: list[Path], out: Path) -> None:
        """Average ``paths`` into ``out`` on the worker; on success it becomes the model of its scale."""
        if out.suffix.lower() != ".safetensors":
            out = out.with_name(out.name + ".safetensors")
        self.settings.setValue("files/model_dir", str(out.parent))
        waits = " (waits until the training run stops)" if self.training_panel.is_live else ""
        self._submit("model", f"Averaging {len(paths)} models into {out.name}{waits}",
                     jobs.average_models(paths, out))

    # ------------------------------------------------------------------ opening

    def open_dialog(self) -> None:
        start = str(self.settings.value("files/open_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", start, image_filter())
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> None:
        if path.is_dir():
            self.batch_dialog(folder=path)
            return
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.open_model(path)
            return
        self.settings.setValue("files/open_dir", str(path.parent))
        self._submit("open", f"Opening {path.name}", jobs.open_image(path, mode=self.mode, scale=self.scale))

    def open_sample(self) -> None:
        sample = SAMPLES_DIR / "sample.png"
        if sample.is_file():
            self._submit("open", "Opening the sample image",
                         jobs.open_image(sample, mode=self.mode, scale=self.scale, remember=False))
        else:
            self._show_error(f"the sample image is missing ({sample})")

    def paste(self) -> None:
        clipboard = QApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls():
            files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_path(files[0])
                return
        qimage = clipboard.image()
        if qimage.isNull():
            if mime is not None and mime.hasText() and Path(mime.text().strip()).is_file():
                self.open_path(Path(mime.text().strip()))
                return
            self._set_status("The clipboard holds no image")
            return
        self.open_image(qimage_to_image(qimage), name="pasted image")

    def open_image(self, image: Image, *, name: str) -> None:
        """Open pixels that did not come from a file (clipboard, tests)."""
        self._submit("open", f"Opening {name}", jobs.prepare_image(image, name=name, mode=self.mode, scale=self.scale))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        mime = event.mimeData()
        files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if files:
            self.open_path(files[0])
            event.acceptProposedAction()
        elif mime.hasImage():
            self.open_image(qimage_to_image(QImage(mime.imageData())), name="dropped image")
            event.acceptProposedAction()

    def _inputs_changed(self) -> None:
        """Mode or scale changed: recompute LR/bicubic/HR for the opened image."""
        if self.doc is not None:
            self._submit("open", "Preparing",
                         jobs.prepare_image(self.doc.image, name=self.doc.name, mode=self.mode, scale=self.scale,
                                            path=self.doc.path))

    def _scale_changed(self) -> None:
        self._refresh_models()
        self._inputs_changed()

    # ------------------------------------------------------------------ upscaling

    def upscale(self) -> None:
        if self.doc is None:
            self._set_status("Open an image first (Ctrl+O)")
            return
        path = self.model_path()
        if path is None:
            self._show_error(f"no x{self.scale} model is selected: open one with Model > Open Model… (Ctrl+M)")
            return
        self._submit("upscale", f"Upscaling ×{self.scale}",
                     jobs.upscale(self.doc.image, name=self.doc.name, mode=self.mode, scale=self.scale,
                                  model=path, device=str(self.device_box.currentData()), seed=self.seed_box.value()))

    def cancel(self) -> None:
        """Cancel the window's own jobs (open, upscale, save, inspect); a training run has its
        own Stop in the training panel and is left alone."""
        if self._job_kind:
            for job_id in list(self._job_kind):
                self.worker.cancel(job_id)
            self._set_status("Cancelling…")

    # ------------------------------------------------------------------ saving

    def default_save_name(self) -> str:
        stem = Path(self.doc.name).stem if self.doc else "result"
        return f"{stem}_nlsn_x{self.scale}.png"

    def save_dialog(self) -> None:
        if self.doc is None or self.doc.comparison is None or self.doc.comparison.sr is None:
            self._set_status("Nothing to save yet: upscale an image first")
            return
        folder = Path(str(self.settings.value("files/save_dir", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(self, "Save result", str(folder / self.default_save_name()), save_filter())
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        if path.suffix.lower() not in SUPPORTED_WRITE:
            path = path.with_suffix(".png")
        self.settings.setValue("files/save_dir", str(path.parent))
        self._submit("save", f"Saving {path.name}", jobs.save(self.doc.comparison.sr, path))

    def batch_dialog(self, folder: Path | None = None) -> None:
        from nlsn_gui.batch_dialog import BatchDialog

        dialog = BatchDialog(self, folder=folder)
        dialog.exec()

    # ------------------------------------------------------------------ jobs

    def _submit(self, kind: str, text: str, fn) -> int:
        if kind in ("open", "upscale"):
            # A new open or upscale replaces whatever was running for the view.
            for jid, k in list(self._job_kind.items()):
                if k in ("open", "upscale"):
                    self.worker.cancel(jid)
        job_id = self.worker.submit(text, fn)
        self._job_kind[job_id] = kind
        self._set_status(f"{text}…")
        return job_id

    def _job_started(self, job_id: int, name: str) -> None:
        if job_id in self._job_kind:
            self.progress.setValue(0)
            self.progress.setFormat("%p%")
            self.progress.show()

    def _job_progress(self, job_id: int, fraction: float, message: str, eta: float) -> None:
        if job_id not in self._job_kind:
            return
        self.progress.setValue(int(fraction * 1000))
        eta_text = f" · ETA {format_seconds(eta)}" if math.isfinite(eta) else ""
        self.progress.setFormat(f"%p%{eta_text}")
        if message and message != "done":
            self.progress.setToolTip(message)

    def _job_finished(self, job_id: int, result) -> None:
        kind = self._job_kind.pop(job_id, None)
        if kind == "open":
            self._show_document(result)
        elif kind == "upscale":
            self._show_result(result)
        elif kind == "save":
            self._set_status(f"Saved {result}")
        elif kind == "model":
            self._model_loaded(result)
        elif kind == "inspect":
            self.inspector.show_inspection(result)
        self._idle_if_done()

    def _job_failed(self, job_id: int, message: str) -> None:
        if self._job_kind.pop(job_id, None) is not None:
            self._show_error(message)
        self._idle_if_done()

    def _job_cancelled(self, job_id: int) -> None:
        if self._job_kind.pop(job_id, None) is not None and not self._job_kind:
            self._set_status("Cancelled")
        self._idle_if_done()

    def _idle_if_done(self) -> None:
        if not self._job_kind:
            self.progress.hide()

    def _busy_changed(self, busy: bool) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        busy = self.worker.busy
        has_doc = self.doc is not None
        has_result = has_doc and self.doc.comparison is not None and self.doc.comparison.sr is not None
        self.upscale_button.setEnabled(has_doc and not busy)
        self.act_upscale.setEnabled(has_doc and not busy)
        self.cancel_button.setEnabled(busy)
        self.act_cancel.setEnabled(busy)
        self.act_save.setEnabled(has_result)

    # ------------------------------------------------------------------ results

    def _show_document(self, result: jobs.Prepared) -> None:
        first = self.doc is None or self.doc.name != result.name
        # A new scale changes the output's size: the old zoom would show only a corner, so re-fit.
        rescaled = self.doc is not None and self.doc.comparison.scale != result.comparison.scale
        self.doc = Document(image=result.image, name=result.name, path=result.path,
                            comparison=result.comparison, displays=result.displays)
        if result.path is not None and result.remember:
            self._add_recent(result.path)
        self.setWindowTitle(f"{result.name} — NLSN Studio")
        self.compare.set_panels(self._panels(), keep_view=not (first or rescaled))
        self.inspector.document_changed()
        c = result.comparison
        size = f"{c.lr.width}×{c.lr.height} → {c.lr.width * c.scale}×{c.lr.height * c.scale}"
        self.info_label.setText(size)
        hint = "Simulated LR from the HR image" if c.mode == "simulate" else "Ready to upscale"
        self._set_status(f"{result.name}: {hint} (Ctrl+Enter)")
        self._update_actions()

    def _show_result(self, result: jobs.Upscaled) -> None:
        if self.doc is None:
            return
        self.doc.comparison = result.comparison
        self.doc.displays.update(result.displays)
        self.compare.set_panels(self._panels(), keep_view=True)
        # Swipe compares what matters most: NLSN against the truth, or against bicubic without one.
        self.compare.set_swipe_pair("nlsn", "hr" if "hr" in self.doc.displays else "bicubic")
        self.inspector.panels_changed()
        c = result.comparison
        text = f"NLSN ×{c.scale} in {c.seconds:.1f} s on {result.device} ({result.how}) with {result.model_name}"
        if c.sr_scores is not None and c.bicubic_scores is not None:
            gain = c.sr_scores.psnr - c.bicubic_scores.psnr
            text += f" · {c.sr_scores.text()} ({gain:+.2f} dB over bicubic)"
        self._set_status(text)
        self._update_actions()

    def _panels(self) -> list[Panel]:
        doc = self.doc
        c = doc.comparison
        d = doc.displays
        panels = [Panel("lr", "LR (nearest)", d["lr"], scale=c.scale,
                        subtitle=f"{c.lr.width}×{c.lr.height}")]
        if "bicubic" in d:
            panels.append(Panel("bicubic", "Bicubic", d["bicubic"],
                                subtitle=c.bicubic_scores.text() if c.bicubic_scores else ""))
        if "nlsn" in d and c.sr is not None:
            panels.append(Panel("nlsn", "NLSN", d["nlsn"], subtitle=c.sr_scores.text() if c.sr_scores else ""))
        if "hr" in d:
            panels.append(Panel("hr", "HR (truth)", d["hr"], subtitle=f"{c.hr.width}×{c.hr.height}"))
        if c.diff is not None and c.sr is not None:
            panels.append(Panel("diff", "|NLSN − HR|", c.diff, colormap="inferno",
                                subtitle=f"mean {float(c.diff.mean()):.2f}"))
        return panels

    def _model_loaded(self, info: jobs.ModelInfo) -> None:
        self._user_models[str(info.path)] = f"{info.path.name} ({info.source}, ×{info.scale})"
        self.settings.setValue("models/opened", list(self._user_models))
        if info.scale != self.scale:
            self.scale_box.blockSignals(True)
            self._select(self.scale_box, info.scale)
            self.scale_box.blockSignals(False)
            self._inputs_changed()
        self._refresh_models(select=str(info.path))
        self._set_status(f"Model {info.path.name}: {info.description}")

    # ------------------------------------------------------------------ misc

    def _toggle_swipe(self, checked: bool) -> None:
        self.compare.set_mode("swipe" if checked else "side")

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _show_error(self, message: str) -> None:
        self._set_status(f"Error: {message}")
        if not QApplication.instance().property("nlsn_quiet"):
            QMessageBox.warning(self, "NLSN Studio", message)

    def about(self) -> None:
        QMessageBox.about(
            self, "About NLSN Studio",
            "<b>NLSN Studio</b><br>Image super-resolution with the Non-Local Sparse Network "
            "(Mei, Fan and Zhou, CVPR 2021).<br><br>Loads the authors' released checkpoints and "
            "ships its own models.",
        )

    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.training_panel.confirm_close():  # a run: ask, then stop it with a checkpoint
            event.ignore()
            return
        self._save_settings()
        self.worker.shutdown()
        super().closeEvent(event)

    def start(self, path: Path | None = None) -> None:
        """After show(): open ``path``, or the sample image on first launch."""
        if path is not None:
            QTimer.singleShot(0, lambda: self.open_path(path))
        else:
            QTimer.singleShot(0, self.open_sample)


def qimage_to_image(qimage: QImage) -> Image:
    """A QImage (clipboard, drop) as an :class:`Image`: RGB, with alpha only when it is used."""
    if qimage.isNull():
        raise NLSNError("the clipboard image is empty")
    rgba = qimage.convertToFormat(QImage.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    array = buffer.reshape(h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()  # (h, w, 4) uint8
    alpha = array[:, :, 3]
    return Image(pixels=array[:, :, :3], alpha=None if alpha.min() == 255 else alpha, source="clipboard")
