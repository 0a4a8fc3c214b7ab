"""The training panel: set up, launch, watch and steer an NLSN training run; reopen and compare runs.

A :class:`~core.train.Trainer` runs as ONE job on the worker thread. Its listener is a
:class:`~core.train.RunHistory` (Qt-free, lock-protected), and a QTimer (4 Hz) redraws the plots
and labels from a snapshot of it: never per event, so a fast run cannot flood the event loop.
Pause, Resume and Stop call the trainer's thread-safe methods. Between two steps the run serves the
jobs queued on the worker meanwhile (the panel says which wait for the current step); cancelling the
job (the window closing) stops the run cleanly with a checkpoint, so Resume run… continues it.
"""
from __future__ import annotations

import gc
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.base.errors import NLSNError
from core.train import (
    FinishedEvent,
    HistorySnapshot,
    RunFolder,
    RunHistory,
    TrainConfig,
    Trainer,
    check_setup,
    warm_up,
)
from nlsn_gui.qt.host import Host
from nlsn_gui.qt.training.controls import ControlBar
from nlsn_gui.qt.training.form import SetupForm
from nlsn_gui.qt.training.messages import Messages
from nlsn_gui.qt.training.plots import TrainingPlots
from nlsn_gui.qt.training.previews import Previews
from nlsn_gui.qt.training.runs import RunsTab
from nlsn_gui.qt.training.timing import StepTiming
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.training import (
    STATE_TEXT,
    LiveRun,
    brief_text,
    run_line,
    RunList,
    finished_text,
    progress_of,
    queue_text,
    stats_text,
    view_state,
)
from nlsn_gui.tasks.train import train_job

REFRESH_MS = 250  # plots and labels are redrawn at most 4 times a second
SUMMARY_EVERY = 4  # refreshes between updates of the status bar's and the run list's line
FOLLOW_EVERY = 8  # refreshes between re-reads of metrics.jsonl for runs not trained here
CLOSE_WAIT_S = 30.0  # how long closing waits for a stopped run to save its checkpoint


class TrainingPanel(QWidget):
    """Controls, the Setup / Runs / Log tabs, live plots and previews."""

    stateChanged = Signal(str)
    summaryChanged = Signal(str)  # one line about the panel's run, for the window's status bar

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.history: RunHistory | None = None  # the run in view: live, or opened from its folder
        self._run: LiveRun | None = None  # the run trained by this panel, while it exists
        self._shown_version = -1
        self._shown_messages = 0
        self._refreshes = 0
        self._last_state = ""
        self._shown_state = ""
        self._summary = ""
        self._snap: HistorySnapshot | None = None
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._rebuild_overlays()
        self._update_controls()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 6)
        outer.setSpacing(4)
        self.controls = ControlBar()
        for button, slot in ((self.controls.start_button, self.start), (self.controls.pause_button, self.pause),
                             (self.controls.resume_button, self.resume), (self.controls.stop_button, self.stop)):
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
        self.controls.use_button.clicked.connect(lambda: self.use_model())
        outer.addWidget(self.controls)
        self.messages = Messages()
        self.log = self.messages.log
        outer.addWidget(self.messages.banner)
        self.form = SetupForm(self.host.settings)
        self.timing = StepTiming(self.host, self.form)
        self.form.resumeChosen.connect(self.prepare_resume)
        self.form.new_run_button.clicked.connect(self.new_run)
        self.runs_tab = RunsTab(RunList(self.host.settings))
        self.runs_tab.start_dir = self.form.out_root()
        self.runs_tab.openRequested.connect(self.open_run)
        self.runs_tab.resumeRequested.connect(self.prepare_resume)
        self.runs_tab.removeRequested.connect(self._remove_run)
        self.runs_tab.addChosen.connect(self._add_chosen)
        self.runs_tab.checkedChanged.connect(self._rebuild_overlays)
        self.runs_tab.selectionChanged.connect(self._update_controls)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for page, title in ((self.form, "Setup"), (self.runs_tab, "Runs"), (self.log, "Log")):
            self.tabs.addTab(page, title)
        self.tabs.setMinimumWidth(330)  # the page fits a 1024-px window
        self.plots = TrainingPlots(self.host.settings)
        self.plots.smoothingChanged.connect(lambda _s: (self._rebuild_overlays(), self.refresh()))
        self.previews = Previews()
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for index, (widget, stretch) in enumerate(((self.tabs, 0), (self.plots, 1), (self.previews, 0))):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(index, stretch)
        self.splitter.setSizes([440, 700, 300])
        outer.addWidget(self.splitter, 1)

    # ------------------------------------------------------------------ messages

    def show_message(self, text: str, level: str = "info") -> None:
        self.messages.show(text, level)

    def message_text(self) -> str:
        return self.messages.text()

    # ------------------------------------------------------------------ the run

    @property
    def trainer(self) -> Trainer | None:
        return self._run.trainer if self._run is not None else None

    @property
    def is_live(self) -> bool:
        return self._run is not None and not self._run.ended

    @property
    def state(self) -> str:
        return view_state(self._run, self.history)

    def start(self) -> bool:
        """Start the run set up in the form (a new one, or the resumed one); False with a message if not."""
        if self.is_live:
            return False
        resume = self.form.resume_dir is not None
        try:
            config = self.form.config()
            run_dir = self.form.run_dir()
            if run_dir is None:
                raise NLSNError("choose an output folder for the run")
            check_setup(config, run_dir, resume=resume)
            history = RunHistory.from_metrics(run_dir) if resume else RunHistory(run_dir)
            history.config = config.to_dict()
            trainer = Trainer(config, run_dir, resume=resume, listener=history)
        except NLSNError as err:
            self.show_message(str(err), "error")
            return False
        self.form.save()
        self.messages.clear()
        gc.freeze()  # see core.train.warmup: full collections stay short during the run
        run = self._run = LiveRun(trainer=trainer, history=history, run_dir=run_dir)
        self._show_history(history)
        self.messages.line("info", f"{'resuming' if resume else 'starting'} {run_dir}")
        run.job_id = self.host.submit(
            Job("train", "Training", window=False, started=self._job_started,
                done=lambda result, run=run: self._job_finished(run, result),
                failed=lambda message, run=run: self._job_failed(run, message),
                cancelled=lambda run=run: self._job_cancelled(run)),
            train_job(trainer, run.done))
        self.add_run(run_dir)
        if resume:
            self.new_run()
        self.host.status(f"Training {run_dir.name}…")
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
            self.host.cancel(self._run.job_id)
        self._run.trainer.stop()
        self.refresh()

    def wait_for_end(self, timeout_s: float = CLOSE_WAIT_S) -> bool:
        """Let a stopped run end (bounded); the UI keeps painting meanwhile. True when it ended."""
        run = self._run
        deadline = time.monotonic() + timeout_s
        while run is not None and not run.ended and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents, 50)
            run.done.wait(0.02)
        return run is None or run.ended

    def confirm_close(self) -> bool:
        """The window closes: ask (unless quiet), stop the run and wait for its checkpoint.

        False when the user chose to keep training (the window should stay open)."""
        self.form.save()
        if not self.is_live:
            return True
        if not QApplication.instance().property("nlsn_quiet"):
            box = QMessageBox(self.window())
            box.setIcon(QMessageBox.Question)
            box.setWindowTitle("NLSN Studio")
            box.setText(f"A training run is in progress ({self._run.run_dir.name}, step {self._run.trainer.step:,}).")
            box.setInformativeText("Stop it and quit? A checkpoint is saved first, so Resume run… continues it later.")
            stop = box.addButton("Stop and Quit", QMessageBox.AcceptRole)
            keep = box.addButton("Keep Training", QMessageBox.RejectRole)
            box.setDefaultButton(keep)
            box.exec()
            if box.clickedButton() is not stop:
                return False
        self.host.status("Stopping the training run (saving a checkpoint)…")
        self.stop()
        if not self.wait_for_end():
            self.messages.line("warning", "the run did not end in time; its last checkpoint is kept")
        return True

    def _job_started(self) -> None:
        if self._run is not None:
            self._run.started = True
            self.refresh()

    def _ended(self, run: LiveRun, text: str, level: str, state: str | None = None) -> None:
        run.ended = True
        if state is not None:
            run.history.set_state(state)
        self._shown_version = -1
        self.show_message(text, level)
        self.refresh()

    def _job_finished(self, run: LiveRun, result: FinishedEvent) -> None:
        text, level = finished_text(result, run.run_dir)
        self.host.status(f"Training: {text}")
        self._ended(run, text, level)

    def _job_failed(self, run: LiveRun, message: str) -> None:
        self.host.status(f"Training failed: {message}")
        self._ended(run, message, "error", "failed")

    def _job_cancelled(self, run: LiveRun) -> None:
        self._ended(run, "The run was cancelled before it started.", "warning", "cancelled")

    # ------------------------------------------------------------------ runs

    def prepare_resume(self, run_dir: Path) -> bool:
        """Set the form up to continue ``run_dir`` (its own settings; iterations and device may change)."""
        if self.is_live:
            self.show_message("A run is in progress: stop it before resuming another.", "warning")
            return False
        folder = RunFolder(run_dir)
        try:
            if not folder.config.is_file():
                raise NLSNError(f"{run_dir}: not a training run (no config.json)")
            config = TrainConfig.load(folder.config)
            if not folder.checkpoint.is_file():
                raise NLSNError(f"{run_dir.name} has no checkpoint yet: it cannot be resumed")
        except NLSNError as err:
            self.show_message(str(err), "error")
            return False
        self.form.set_resume(run_dir, config)
        self.add_run(run_dir)
        self.open_run(run_dir)
        self.tabs.setCurrentIndex(0)
        self.messages.clear()
        self._update_controls()
        return True

    def new_run(self) -> None:
        self.form.new_run()
        self._update_controls()

    def add_run(self, run_dir: Path, *, checked: bool = False) -> None:
        """List a run folder (remembered in the settings); newest first."""
        self.runs_tab.add(Path(run_dir), checked=checked)
        self._rebuild_overlays()

    def _add_chosen(self, run_dir: Path) -> None:
        if not RunFolder(run_dir).is_run():
            self.show_message(f"{run_dir}: not a training run (no config.json or metrics.jsonl)", "error")
            return
        self.add_run(run_dir)
        self.open_run(run_dir)

    def _remove_run(self, run_dir: Path) -> None:
        if self.is_live and run_dir == self._run.run_dir:
            self.show_message("The run in progress stays in the list.", "warning")
            return
        self.runs_tab.remove(run_dir)
        self._rebuild_overlays()

    def open_run(self, run_dir: Path) -> bool:
        """Show a run folder's curves (from metrics.jsonl) and previews; the live run stays in view."""
        run_dir = Path(run_dir)
        if self.is_live and run_dir != self._run.run_dir:
            self.runs_tab.check(run_dir)
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
        self.messages.clear()
        return True

    def _rebuild_overlays(self) -> None:
        """The ticked runs' curves over the run in view."""
        self.plots.set_overlays(self.runs_tab.runs.overlays(self.history.run_dir if self.history else None))

    # ------------------------------------------------------------------ using the model

    def run_dir(self) -> Path | None:
        """The folder of the run the panel shows (live, resumed or opened), if any."""
        return self.history.run_dir if self.history is not None else None

    def model_file(self, which: str = "best") -> Path | None:
        """The run's model file (best, else newest), or None when none was saved yet."""
        run_dir = self.run_dir()
        return RunFolder(run_dir).model_file(which) if run_dir is not None else None

    def use_model(self, which: str | None = None) -> Path | None:
        """Make the run's best (or newest) model the window's upscale model, at the run's scale."""
        path = self.model_file(which or str(self.controls.which_box.currentData()))
        if path is None:
            every = self.history.config.get("save_every") if self.history is not None else None
            when = f" (every {every:,} steps, and at Stop)" if isinstance(every, int) else ""
            self.show_message(f"No model saved yet: one is written with each checkpoint{when}.", "warning")
            return None
        scale = int(self.history.config.get("scale", 2))
        kind = "best" if path == RunFolder(path.parent).model_best else "newest"
        label = f"{path.parent.name} · {kind} (×{scale})"
        self.host.use_model(path, label, scale)
        text = f"Upscale model: {label}"
        self.host.status(text)
        self.show_message(text, "info")
        return path

    # ------------------------------------------------------------------ display

    def _show_history(self, history: RunHistory) -> None:
        self.history = history
        self._shown_version = -1
        self._shown_messages = 0
        self.log.clear()
        self.plots.show_history(history)
        self.previews.show_history(history)
        self._rebuild_overlays()
        self.refresh()

    def refresh(self) -> None:
        """Redraw from the history (timer, 4 Hz); cheap when nothing changed."""
        self._refreshes += 1
        run, history = self._run, self.history
        live = run is not None and not run.ended and history is run.history
        trained_elsewhere = history is not None and (run is None or history is not run.history)
        if trained_elsewhere and self._refreshes % FOLLOW_EVERY == 0 and self.isVisible():
            history.update_from_metrics()  # follows a run trained elsewhere (e.g. `nlsn train`)
        if self._refreshes % (FOLLOW_EVERY * 2) == 0 and self.plots.has_overlays() and self.isVisible():
            if self.runs_tab.runs.follow():
                self._rebuild_overlays()
        if history is not None and (history.version != self._shown_version or self.state != self._shown_state):
            self._draw(history.snapshot())
        self.plots.draw(self._snap, all_of_them=not live)
        self._update_queue()
        self._update_controls()
        self._update_summary()

    def _update_summary(self) -> None:
        """The status bar's line and the run list's, once a second (each re-lays out its widget)."""
        run = self._run
        if run is None or (self._refreshes % SUMMARY_EVERY and not run.ended and run.state() != "paused"):
            return
        snap = self._snap if self.history is run.history else run.history.snapshot()
        iters = run.trainer.config.iters
        summary = brief_text(run.state(), snap, iters=iters, name=run.run_dir.name)
        if summary != self._summary:
            self._summary = summary
            self.summaryChanged.emit(summary)
            if snap is not None:
                self.runs_tab.set_line(run.run_dir, run_line(run.run_dir.name, snap, iters=iters, state=run.state()))

    def summary(self) -> str:
        return self._summary

    def _draw(self, snap: HistorySnapshot) -> None:
        """Everything but the plots at once; the plots whose data changed are marked for redrawing."""
        self._shown_version, self._shown_state, self._snap = snap.version, self.state, snap
        self.plots.mark(snap)
        for level, text in self.history.messages(self._shown_messages):
            self.messages.line(level, text)
            self._shown_messages += 1
        self.previews.update(snap)
        iters = snap.iters or self.history.config.get("iters")
        live = self.is_live and self.history is self._run.history
        paused = self._shown_state in ("paused", "pausing")
        self.controls.stats_label.setText(stats_text(snap, iters=iters, live=live, paused=paused))
        self.controls.stats_label.setToolTip("Each image is read and downscaled once, then cached in the run folder"
                                    if snap.preparing is not None and snap.finished is None else
                                    "Step, speed, time left, memory (peak on a GPU, resident on the CPU), last loss")
        fraction, text = progress_of(snap, iters=iters)
        self.controls.progress.setValue(int(1000 * fraction))
        self.controls.progress.setFormat(text)

    def _update_queue(self) -> None:
        """Say which jobs wait for the current step to end (they run before the next one)."""
        waiting = self.host.waiting("train") if self.is_live else {}
        text = queue_text(waiting)
        if self.form.queue_label.text() != text:
            self.form.queue_label.setText(text)
            self.form.queue_label.setEnabled(bool(waiting))

    def queue_text(self) -> str:
        return self.form.queue_label.text()

    def _update_controls(self) -> None:
        state, live = self.state, self.is_live
        started = live and self._run.started
        self.controls.start_button.setEnabled(not live)
        self.controls.start_button.setText("Resume run" if self.form.resume_dir is not None else "Start")
        self.controls.pause_button.setEnabled(started and state in ("running", "preparing"))
        self.controls.resume_button.setEnabled(live and state in ("paused", "pausing"))
        self.controls.stop_button.setEnabled(live and state != "stopping")
        self.form.set_live(live)
        self.timing.set_enabled(not live)
        self.runs_tab.set_enabled(live=live)
        has_run = self.history is not None and self.history.run_dir is not None
        self.controls.use_button.setEnabled(has_run)
        self.controls.which_box.setEnabled(has_run)
        self.controls.progress.setVisible(self.history is not None)
        if state != self._last_state:
            self._last_state = state
            text, colour = STATE_TEXT.get(state, (state.capitalize(), None))
            dot = f"<span style='color:{colour}'>●</span> " if colour else ""
            self.controls.state_label.setText(f"{dot}<b>{text}</b>")
            self.stateChanged.emit(state)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        warm_up()  # in the background, while the user reads the form
        self.timing.wake()
        super().showEvent(event)
