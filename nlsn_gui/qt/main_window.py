"""The main window: open an image, upscale it with NLSN, compare, save, batch a folder.

The state lives in :mod:`nlsn_gui.state` (document, choices, models, recent files, job routing);
everything heavy runs on the worker thread through :mod:`nlsn_gui.tasks`. This module wires widgets
to both, and hands its panels one :class:`~nlsn_gui.qt.host.Host`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from core.inference import available_devices
from nlsn_gui.qt.compare import CompareView
from nlsn_gui.qt.compare_models import ModelComparison
from nlsn_gui.qt.figure_export import FigureExport
from nlsn_gui.qt.model_stats_dialog import ModelStatistics
from nlsn_gui.qt.docking import dock_panel, restore_layout
from nlsn_gui.qt import help_menu
from nlsn_gui.qt.host import Host
from nlsn_gui.qt.menus import build_menus, fill_recent, make_action
from nlsn_gui.qt.model_chooser import ModelChooser
from nlsn_gui.qt.opening import Opening
from nlsn_gui.qt.output_size_dialog import OutputSizeChoice
from nlsn_gui.qt.pages import Pages
from nlsn_gui.qt.run_options import RunOptionsControl
from nlsn_gui.qt.saving import save, save_dialog
from nlsn_gui.qt.status_bar import StatusBar
from nlsn_gui.qt.theme import apply_theme
from nlsn_gui.qt.toolbar import MainToolbar, select
from nlsn_gui.qt.worker import WorkerThread
from nlsn_gui.state.choices import ModelList, Selection, UpscaleChoices
from nlsn_gui.state.document import Document, Made
from nlsn_gui.state.jobs import Job, JobRouter
from nlsn_gui.state.panels import (
    current_title,
    document_panels,
    kept_text,
    opened_text,
    result_text,
    stale_note,
    swipe_pair,
)
from nlsn_gui.state.recent import RecentFiles
from nlsn_gui.tasks import images
from resources import ICONS_DIR



class MainWindow(Opening, QMainWindow):
    def __init__(self, *, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.worker = WorkerThread(self)
        self.jobs = JobRouter()
        self.doc: Document | None = None
        self.models = ModelList(self.settings)
        self.recent = RecentFiles(self.settings)
        self.setWindowTitle("NLSN Studio")
        if (ICONS_DIR / "nlsn.png").is_file():
            self.setWindowIcon(QIcon(str(ICONS_DIR / "nlsn.png")))
        self.setAcceptDrops(True)
        self.compare = CompareView(self)
        self.pages = Pages(self.compare)
        self.setCentralWidget(self.pages)
        self._build_actions()
        self.bar = MainToolbar(self, actions=[self.act_open, self.act_save], devices=available_devices())
        self.addToolBar(Qt.TopToolBarArea, self.bar)
        self.mode_box, self.scale_box, self.model_box = self.bar.mode_box, self.bar.scale_box, self.bar.model_box
        self.device_box, self.seed_box = self.bar.device_box, self.bar.seed_box
        self.upscale_button, self.cancel_button = self.bar.upscale_button, self.bar.cancel_button
        self.menus = build_menus(self, self.set_theme)
        self.run = RunOptionsControl(self, model_menu=self.menus.model, file_menu=self.menus.file,
                                     before=self.act_batch)
        self.chooser = ModelChooser(self, self.bar, self.models, self.settings, submit=self.submit,
                                    status=self._set_status, error=self._show_error, scale=lambda: self.scale,
                                    rescale=self.rescale)
        self.comparison = ModelComparison(parent=self, models=self.models, document=lambda: self.doc,
                                          scale=lambda: self.scale, current_model=self.model_path,
                                          run=self.compare_with, refresh=self._refresh_panels,
                                          status=self._set_status, settings=self.settings)
        self.comparison.install(self, model_menu=self.menus.model, view_menu=self.menus.view)
        self.stats = ModelStatistics(self)
        self.stats.install(self.menus.model, after=self.comparison.act_clear)
        self.figure = FigureExport(self)
        self.figure.install(file_menu=self.menus.file, after=self.act_save)
        self._build_status_bar()
        self._restore_settings()
        self.host = Host(settings=self.settings, compare=self.compare, status=self._set_status, error=self._show_error,
                         submit=self.submit, cancel=self.worker.cancel, selection=self.selection,
                         use_model=self.use_model, waiting=self.waiting, run_options=lambda: self.run.options,
                         output_target=lambda: self.output.target, models=self.models.entries)
        self._build_panels()
        self.upscale_button.clicked.connect(self.upscale)
        self.cancel_button.clicked.connect(self.cancel)
        self.mode_box.currentIndexChanged.connect(self._inputs_changed)
        self.scale_box.currentIndexChanged.connect(self._scale_changed)
        self.seed_box.valueChanged.connect(self._choices_changed)
        self.model_box.currentIndexChanged.connect(self._choices_changed)
        w = self.worker  # its signals arrive on the UI thread
        w.started.connect(self._job_started)
        w.progress.connect(self._job_progress)
        w.finished.connect(self._job_finished)
        w.failed.connect(self._job_failed)
        w.cancelled.connect(self._job_cancelled)
        self.worker.busyChanged.connect(self._update_actions)
        self._update_actions()

    # ------------------------------------------------------------------ building

    def _build_actions(self) -> None:
        a = lambda *args, **kw: make_action(self, *args, **kw)  # noqa: E731
        self.act_open = a("&Open Image…", self.open_dialog, QKeySequence.Open, tip="Open an image")
        self.act_paste = a("&Paste Image", self.paste, QKeySequence.Paste, tip="Paste an image from the clipboard")
        self.act_sample = a("Open &Sample Image", self.open_sample)
        self.act_save = a("&Save Result As…", self.save_dialog, QKeySequence.Save, tip="Save the NLSN result")
        self.act_open.setIconText("Open")  # the toolbar's words: a 1024-px window keeps Upscale in view
        self.act_save.setIconText("Save")
        self.act_batch = a("&Batch Process Folder…", self.batch_dialog, "Ctrl+B", tip="Upscale every image of a folder")
        self.act_quit = a("&Quit", self.close, QKeySequence.Quit)
        self.act_model = a("Open &Model…", lambda: self.chooser.open_dialog(), "Ctrl+M",
                           tip="Load a released NLSN .pt or a project .safetensors model")
        self.act_average = a("&Average Models…", self.average_dialog,
                             tip="Average the weights of several models of one configuration "
                                 "(e.g. a run's snapshots) into a new model")
        self.act_output_size = a("Output &Size…", lambda: self.output.dialog(),
                                 tip="Save at any factor or size: NLSN at the nearest scale above, then bicubic")
        self.act_upscale = a("&Upscale", self.upscale, "Ctrl+Return", tip="Run NLSN on the image")
        self.act_cancel = a("&Cancel", self.cancel, "Esc", tip="Stop the running job")
        self.act_fit = a("Zoom to &Fit", lambda: self.compare.zoom_fit(), "F")
        self.act_zooms = [a(f"Zoom {p}%", lambda checked=False, p=p: self.compare.set_zoom(p), key)
                          for p, key in ((100, "1"), (200, "2"), (400, "4"), (800, "8"))]
        self.act_swipe = a("S&wipe Mode", lambda on: self.compare.set_mode("swipe" if on else "side"), "S")
        self.act_swipe.setCheckable(True)
        self.act_shortcuts = a("&Keyboard Shortcuts", lambda: help_menu.show_shortcuts(self), "F1",
                               tip="Every shortcut of the window")
        self.act_docs = a("&Documentation", lambda: help_menu.open_docs(self, self._set_status),
                          tip="Open the README, which links the guides in docs/")
        self.act_about = a("&About NLSN Studio", lambda: help_menu.show_about(self))

    def _build_panels(self) -> None:
        from nlsn_gui.qt.inspector import InspectorPanel
        from nlsn_gui.qt.training import TrainingPanel

        state = self.settings.value("window/state")
        self.inspector = InspectorPanel(self.host)
        self.inspector_dock, self.act_inspector = dock_panel(
            self, self.inspector, title="Attention inspector", name="inspector-dock", area=Qt.RightDockWidgetArea,
            action_text="Attention &Inspector", shortcut="Ctrl+I", saved_state=state, first_size=0.28, scroll=True,
            tip="Hash buckets and per-pixel attention of the sparse attention modules")
        self.inspector_dock.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        self.inspector_dock.visibilityChanged.connect(self.inspector.set_active)
        self.pages.belongs_to_compare(self.inspector_dock)
        self.seed_box.valueChanged.connect(self.inspector.seed_box.setValue)
        self.inspector.seed_box.setValue(self.seed_box.value())
        self.training_panel = TrainingPanel(self.host)
        self.pages.add_page(self.training_panel, "Training")
        self.act_training = make_action(self, "&Training", lambda: self.pages.toggle(self.training_panel), "Ctrl+T",
                                        tip="Show the Training page (or go back to Compare): train, watch and "
                                            "compare NLSN runs")
        self.training_panel.summaryChanged.connect(self.training_badge.set_summary)
        self.training_badge.clicked.connect(self.show_training)
        for action in (self.act_inspector, None, self.act_training):
            self.menus.view.addSeparator() if action is None else self.menus.view.addAction(action)

    def _build_status_bar(self) -> None:
        self.status = StatusBar(self.statusBar())
        self.status_label, self.progress, self.info_label = self.status.label, self.status.progress, self.status.info
        self.training_badge = self.status.training

    # ------------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        s = self.settings
        restore_layout(self, s)
        choices = UpscaleChoices.restore(s, devices=available_devices())
        for box, data in ((self.mode_box, choices.mode), (self.scale_box, choices.scale),
                          (self.device_box, choices.device)):
            select(box, data)
        self.seed_box.setValue(choices.seed)
        self.output = OutputSizeChoice(self)
        self.chooser.refresh()
        self._update_recent_menu()
        self._check_theme(str(s.value("view/theme", "system")))

    def show_training(self) -> None:
        self.pages.show_page(self.training_panel)

    def _save_settings(self) -> None:
        self.pages.show_page(self.compare)  # the layout is the Compare page's, with its docks
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.choices().save(self.settings)
        self.settings.sync()

    def recent_files(self) -> list[str]:
        return self.recent.paths()

    def _update_recent_menu(self) -> None:
        fill_recent(self.menus.recent, self.recent, self.open_recent, self._update_recent_menu)

    def set_theme(self, key: str) -> None:
        apply_theme(QApplication.instance(), key)
        self.settings.setValue("view/theme", key)
        self._check_theme(key)

    def _check_theme(self, key: str) -> None:
        for action in self.menus.theme.actions():
            action.setChecked(action.data() == key)

    # ------------------------------------------------------------------ choices and models

    @property
    def scale(self) -> int:
        return int(self.scale_box.currentData())

    @property
    def mode(self) -> str:
        return str(self.mode_box.currentData())

    def choices(self) -> UpscaleChoices:
        return UpscaleChoices(mode=self.mode, scale=self.scale, device=str(self.device_box.currentData()),
                              seed=self.seed_box.value(), model=self.model_path())

    def selection(self) -> Selection:
        c = self.choices()
        return Selection(document=self.doc, mode=c.mode, scale=c.scale, device=c.device,
                         device_label=self.device_box.currentText(), seed=c.seed, model=c.model,
                         model_label=self.model_box.currentText(), rounds=self.run.options.rounds)

    def model_path(self) -> str | None:
        return self.bar.model()

    def rescale(self, scale: int) -> None:
        """Switch to ``scale`` (the image is prepared again for it)."""
        if scale != self.scale:
            self.scale_box.setCurrentIndex(self.scale_box.findData(scale))  # -> _scale_changed

    def use_model(self, path: Path, label: str, scale: int) -> None:
        self.chooser.use(path, label, scale)

    def open_model(self, path: Path) -> None:
        self.chooser.open(path)

    def average_dialog(self) -> None:
        self.chooser.average_dialog(self.training_panel.run_dir())

    def _inputs_changed(self) -> None:
        """Mode or scale changed: recompute LR/bicubic/HR for the opened image."""
        if self.doc is not None:
            self._open("Preparing", images.prepare_image(self.doc.image, name=self.doc.name, mode=self.mode,
                                                         scale=self.scale, path=self.doc.path))

    def _scale_changed(self) -> None:
        self.chooser.refresh()
        self._inputs_changed()

    # ------------------------------------------------------------------ upscaling and saving

    def upscale(self) -> None:
        sel = self.selection()
        if sel.document is None:
            self._set_status("Open an image first (Ctrl+O)")
        elif sel.model is None:
            self._show_error(sel.no_model_message())
        else:
            self._upscale_with(sel.model, Job("upscale", f"Upscaling ×{sel.scale}", done=self._show_result))

    def compare_with(self, model: str) -> None:
        """Run ``model`` on the image too; its result joins the others (Compare Models…)."""
        if self.doc is not None:
            text = f"Comparing {Path(model).name}"
            self._upscale_with(model, Job("compare", text, done=self._show_result,
                                          started=lambda: self._set_status(f"{text}…")))

    def _upscale_with(self, model: str, job: Job) -> None:
        sel, run = self.selection(), self.run.options
        self.submit(job, images.upscale(sel.document.image, mode=sel.mode, scale=sel.scale, model=model,
                                        device=sel.device, seed=sel.seed, ensemble=run.ensemble,
                                        precision=run.precision, memory_budget=run.budget(), tile=run.tile,
                                        rounds=run.rounds))

    def cancel(self) -> None:
        """Cancel the window's own jobs; a training run has its own Stop and is left alone."""
        window_jobs = self.jobs.window_jobs()
        for job_id in window_jobs:
            self.worker.cancel(job_id)
        if window_jobs:
            self._set_status("Cancelling…")

    def output_size(self):
        """What Save writes for the document (None: NLSN's own result)."""
        return self.output.size()

    def set_output_target(self, target) -> None:
        self.output.set(target)

    def save_dialog(self) -> None:
        save_dialog(self)

    def save(self, path: Path) -> None:
        save(self, path)

    def batch_dialog(self, folder: Path | None = None) -> None:
        from nlsn_gui.qt.batch_dialog import BatchDialog

        BatchDialog(self.host, parent=self, folder=folder).exec()

    # ------------------------------------------------------------------ jobs

    def submit(self, job: Job, fn) -> int:
        """Queue ``fn(ctx)`` on the worker; ``job`` says what to do with how it ends."""
        job_id = self.worker.submit(job.text, fn, lane=job.lane)
        for superseded in self.jobs.add(job_id, job):
            self.worker.cancel(superseded)
        if job.window:
            self._set_status(f"{job.text}…")
            self._update_actions()
        return job_id

    def waiting(self, besides: str) -> dict[int, str]:
        """The worker's queued jobs (the window's, or anyone's it does not route), but for ``besides``'s."""
        return {jid: name for jid, name in self.worker.pending().items()
                if self.jobs.waits(jid, besides=besides)}

    def _job_started(self, job_id: int, _name: str) -> None:
        job = self.jobs.started(job_id)
        if job is not None and job.window:
            self.status.job_started()

    def _job_progress(self, job_id: int, fraction: float, message: str, eta: float) -> None:
        job = self.jobs.progressed(job_id, fraction, message, eta)
        if job is not None and job.window:
            self.status.job_progress(fraction, message, eta)

    def _job_finished(self, job_id: int, result) -> None:
        self._job_ended(self.jobs.finished(job_id, result))

    def _job_failed(self, job_id: int, message: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.window and job.failed is None:
            self._show_error(message)
        self._job_ended(self.jobs.failed(job_id, message))

    def _job_cancelled(self, job_id: int) -> None:
        job = self.jobs.cancelled(job_id)
        if job is not None and job.window and not self.jobs.window_jobs():
            self._set_status("Cancelled")
        self._job_ended(job)

    def _job_ended(self, _job: Job | None) -> None:
        if not self.jobs.window_jobs():
            self.status.jobs_ended()
        self._update_actions()

    def _update_actions(self, *_args) -> None:
        busy = bool(self.jobs.window_jobs())  # the window's own jobs: a training run is the panel's
        has_doc = self.doc is not None
        for widget in (self.upscale_button, self.act_upscale):
            widget.setEnabled(has_doc and not busy)
        for widget in (self.cancel_button, self.act_cancel):
            widget.setEnabled(busy)
        self.act_save.setEnabled(has_doc and self.doc.has_result)
        self.figure.action.setEnabled(has_doc)

    # ------------------------------------------------------------------ results

    def _show_document(self, result: images.Prepared) -> None:
        first = self.doc is None or self.doc.name != result.name
        # A new scale or mode changes what is shown and its size: the old zoom would show only a
        # corner of it, so re-fit.
        rescaled = self.doc is not None and (self.doc.comparison.scale != result.comparison.scale
                                             or self.doc.comparison.mode != result.comparison.mode)
        previous = self.doc
        self.doc = Document(image=result.image, name=result.name, path=result.path,
                            comparison=result.comparison, displays=result.displays, frames=result.frames)
        came_back = False
        if previous is not None and not first:  # the same image, prepared again for another scale or mode
            previous.set_aside()
            self.doc.kept = previous.kept
            came_back = self.doc.take_back()
        if result.path is not None and result.remember:
            self.recent.add(result.path)
            self._update_recent_menu()
        self.setWindowTitle(f"{result.name} — NLSN Studio")
        self.compare.set_panels(self._panels(), keep_view=not (first or rescaled))
        self.inspector.document_changed()
        status, _size = opened_text(self.doc)
        self.output.show()
        if self.doc.frames > 1:
            status += f" · animated, {self.doc.frames} frames: Save As GIF, WebP or PNG upscales every frame"
        self._set_status(kept_text(self.doc, status, came_back=came_back))

    def _panels(self):
        named = current_title(self.doc) != "NLSN"  # the title names the model: the note needs not
        return document_panels(self.doc, note=stale_note(self.doc.made, self.selection(), named=named))

    def _refresh_panels(self) -> None:
        self.compare.set_panels(self._panels(), keep_view=True)

    def _choices_changed(self) -> None:
        """Model or seed changed: a result made otherwise says so on its panel."""
        if self.doc is not None and self.doc.has_result:
            self.compare.set_panels(self._panels(), keep_view=True)
            sel = self.selection()
            if sel.model in self.doc.compared:
                self._set_status(f"{Path(sel.model).stem}'s result is among the panels; Upscale (Ctrl+Enter) "
                                 "makes it the current one")
            elif (note := stale_note(self.doc.made, sel)):
                self._set_status(f"The NLSN result shown was {note}: Upscale (Ctrl+Enter) for the current choice")

    def _show_result(self, result: images.Upscaled) -> None:
        if self.doc is None:
            return
        c = result.comparison
        self.doc.add_result(c, result.displays, Made(model=result.model, model_name=result.model_name,
                                                     seed=result.seed, scale=c.scale, mode=c.mode,
                                                     architecture=result.architecture, rounds=result.rounds,
                                                     tile=result.tile))
        self.compare.set_panels(self._panels(), keep_view=True)
        self.compare.set_swipe_pair(*swipe_pair(self.doc))
        self._set_status(result_text(self.doc, device=result.device, how=result.how, model_name=result.model_name))

    # ------------------------------------------------------------------ misc

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _show_error(self, message: str) -> None:
        self._set_status(f"Error: {message}")
        if not QApplication.instance().property("nlsn_quiet"):
            QMessageBox.warning(self, "NLSN Studio", message)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.training_panel.confirm_close():  # a run: ask, then stop it with a checkpoint
            event.ignore()
            return
        self._save_settings()
        self.worker.shutdown()
        super().closeEvent(event)

    def start(self, path: Path | None = None) -> None:
        """After show(): open ``path``, or the sample image on first launch."""
        QTimer.singleShot(0, (lambda: self.open_path(path)) if path is not None else self.open_sample)
