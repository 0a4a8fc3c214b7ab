"""The worker threads: one owns the device and runs every computation; one reads and writes files.

A :class:`Worker` (QObject) lives in a QThread and runs its queue of jobs (a Python callable taking a
:class:`JobContext`) one after another. The UI submits jobs with :meth:`WorkerThread.submit`; results,
progress and errors come back as queued signals, so the UI thread never waits. Progress is throttled
so a fast job cannot flood the event loop.

A long job (a training run) calls :meth:`JobContext.serve_queued` between its steps: the jobs queued
meanwhile (open, upscale, inspect) run there, on the same thread and device, and then the long job
goes on. Opening and saving images need no device: they run on the *files* lane, next to it.
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from core.base.allocator import release_free_memory
from core.base.errors import Cancelled, NLSNError
from nlsn_gui.tasks.models import ModelCache

PROGRESS_INTERVAL_S = 0.05
# Jobs keep freed memory for the next one (core/allocator.py); after this long with nothing to do,
# it goes back to the OS, so an idle app does not sit on the peak of its last image.
RELEASE_MEMORY_AFTER_IDLE_MS = 5000


class JobContext:
    """What a job can do: report progress, see whether it was cancelled, use the model cache."""

    def __init__(self, job_id: int, worker: "Worker") -> None:
        self.job_id = job_id
        self._worker = worker
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self.started = time.perf_counter()

    @property
    def models(self) -> ModelCache:
        return self._worker.models

    def serve_queued(self) -> None:
        """From inside a long job: run the jobs queued on this worker meanwhile, then return."""
        self._worker.serve_queued()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the job was cancelled."""
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        if fraction < 1.0 and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        elapsed = now - self.started
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0.02 else float("nan")
        self._worker.progress.emit(self.job_id, float(fraction), message, eta)


class Worker(QObject):
    """Runs its queue of jobs one after another on its own thread."""

    started = Signal(int, str)  # job id, name
    progress = Signal(int, float, str, float)  # job id, fraction, message, eta seconds (nan: unknown)
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str)  # job id, readable message
    cancelled = Signal(int)  # job id
    _wake = Signal()  # internal: queued to the worker thread

    def __init__(self) -> None:
        super().__init__()
        self.models = ModelCache()
        self._contexts: dict[int, JobContext] = {}
        self._queue: deque[tuple[int, str, Callable[[JobContext], Any]]] = deque()
        self._lock = threading.Lock()
        self._serving = False
        self._wake.connect(self._drain)

    def enqueue(self, job_id: int, name: str, fn: Callable[[JobContext], Any]) -> None:
        """Any thread: queue a job (its context exists from now on, so it can be cancelled)."""
        self.context(job_id)
        with self._lock:
            self._queue.append((job_id, name, fn))
        self._wake.emit()

    def _next(self) -> tuple[int, str, Callable[[JobContext], Any]] | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    @Slot()
    def _drain(self) -> None:
        while (item := self._next()) is not None:
            self._execute(*item)

    def serve_queued(self) -> None:
        """Worker thread, inside a running job: run what was queued since (not re-entrant)."""
        if self._serving:
            return
        self._serving = True
        try:
            self._drain()
        finally:
            self._serving = False

    def context(self, job_id: int) -> JobContext:
        with self._lock:
            if job_id not in self._contexts:
                self._contexts[job_id] = JobContext(job_id, self)
            return self._contexts[job_id]

    def cancel(self, job_id: int) -> None:
        self.context(job_id)._cancel.set()

    def _execute(self, job_id: int, name: str, fn: Callable[[JobContext], Any]) -> None:
        ctx = self.context(job_id)
        ctx.started = time.perf_counter()
        try:
            if ctx.cancelled():
                raise Cancelled()
            self.started.emit(job_id, name)
            result = fn(ctx)
        except Cancelled:
            self.cancelled.emit(job_id)
        except NLSNError as err:
            self.failed.emit(job_id, str(err))
        except MemoryError:
            self.failed.emit(job_id, f"{name}: out of memory; try a smaller image or scale")
        except Exception as err:  # noqa: BLE001 - the app must keep running; details go to the log
            traceback.print_exc()
            self.failed.emit(job_id, f"{name} failed unexpectedly: {type(err).__name__}: {err}")
        else:
            self.finished.emit(job_id, result)
        finally:
            with self._lock:
                self._contexts.pop(job_id, None)


class WorkerThread(QObject):
    """The UI's handle on the workers: submit, cancel, and know whether something runs.

    The worker's signals are re-emitted here, on the UI thread, for both lanes."""

    started = Signal(int, str)
    progress = Signal(int, float, str, float)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    busyChanged = Signal(bool)
    memoryReleased = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, Worker]] = {}
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(RELEASE_MEMORY_AFTER_IDLE_MS)
        self._idle.timeout.connect(self._release_memory)
        self._threads: list[QThread] = []
        self.worker = self._start("nlsn-worker")  # the device: every computation
        self.files = self._start("nlsn-files")  # reading and writing images

    def _start(self, name: str) -> Worker:
        thread = QThread()
        thread.setObjectName(name)
        worker = Worker()
        worker.moveToThread(thread)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._done)  # first, so busy is current when the forwarded signal arrives
        worker.started.connect(self.started)
        worker.progress.connect(self.progress)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        thread.start()
        self._threads.append(thread)
        return worker

    def submit(self, name: str, fn: Callable[[JobContext], Any], *, lane: str = "device") -> int:
        """Queue ``fn(ctx)`` on the device worker (or the ``"files"`` lane); returns the job id."""
        job_id = next(self._ids)
        worker = self.files if lane == "files" else self.worker
        was_busy = self.busy
        self._pending[job_id] = (name, worker)
        self._idle.stop()
        worker.enqueue(job_id, name, fn)
        if not was_busy:
            self.busyChanged.emit(True)
        return job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job, or every queued and running job."""
        for jid in ([job_id] if job_id is not None else list(self._pending)):
            if jid in self._pending:
                self._pending[jid][1].cancel(jid)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def pending(self) -> dict[int, str]:
        return {jid: name for jid, (name, _worker) in self._pending.items()}

    def _done(self, job_id: int, *_args) -> None:
        self._pending.pop(job_id, None)
        if not self._pending:
            self._idle.start()
            self.busyChanged.emit(False)

    def _release_memory(self) -> None:
        if not self._pending:  # a job queued meanwhile would only page the memory in again
            release_free_memory()
            self.memoryReleased.emit()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and stop the threads; True when they ended in time."""
        self.cancel()
        for thread in self._threads:
            thread.quit()
        return all(thread.wait(timeout_ms) for thread in self._threads)
