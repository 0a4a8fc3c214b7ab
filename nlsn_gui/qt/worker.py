"""The one worker thread that owns the device: every computation of the app runs here.

A :class:`Worker` (QObject) lives in a QThread. The UI submits jobs (a Python callable taking a
:class:`JobContext`) with :meth:`WorkerThread.submit`; the callable runs on the worker thread and
calls ``core/`` only. Results, progress and errors come back as queued signals, so the UI thread
never waits. Progress is throttled so a fast job cannot flood the event loop.
"""
from __future__ import annotations

import itertools
import threading
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
    """Runs jobs one after another on its own thread."""

    started = Signal(int, str)  # job id, name
    progress = Signal(int, float, str, float)  # job id, fraction, message, eta seconds (nan: unknown)
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str)  # job id, readable message
    cancelled = Signal(int)  # job id
    _run = Signal(int, str, object)  # internal: queued to the worker thread

    def __init__(self) -> None:
        super().__init__()
        self.models = ModelCache()
        self._contexts: dict[int, JobContext] = {}
        self._lock = threading.Lock()
        self._run.connect(self._execute)

    def context(self, job_id: int) -> JobContext:
        with self._lock:
            if job_id not in self._contexts:
                self._contexts[job_id] = JobContext(job_id, self)
            return self._contexts[job_id]

    def cancel(self, job_id: int) -> None:
        self.context(job_id)._cancel.set()

    @Slot(int, str, object)
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
    """The UI's handle on the worker: submit, cancel, and know whether something runs."""

    busyChanged = Signal(bool)
    memoryReleased = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: dict[int, str] = {}
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(RELEASE_MEMORY_AFTER_IDLE_MS)
        self._idle.timeout.connect(self._release_memory)
        self._thread = QThread()
        self._thread.setObjectName("nlsn-worker")
        self.worker = Worker()
        self.worker.moveToThread(self._thread)
        for signal in (self.worker.finished, self.worker.failed, self.worker.cancelled):
            signal.connect(self._done)
        self._thread.start()

    def submit(self, name: str, fn: Callable[[JobContext], Any]) -> int:
        """Queue ``fn(ctx)`` on the worker thread; returns the job id used in the signals."""
        job_id = next(self._ids)
        was_busy = self.busy
        self._pending[job_id] = name
        self._idle.stop()
        self.worker.context(job_id)
        self.worker._run.emit(job_id, name, fn)
        if not was_busy:
            self.busyChanged.emit(True)
        return job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job, or every queued and running job."""
        for jid in ([job_id] if job_id is not None else list(self._pending)):
            if jid in self._pending:
                self.worker.cancel(jid)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def pending(self) -> dict[int, str]:
        return dict(self._pending)

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
        """Cancel everything and stop the thread; True when it ended in time."""
        self.cancel()
        self._thread.quit()
        return self._thread.wait(timeout_ms)
