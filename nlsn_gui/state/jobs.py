"""Job routing: every job submitted to the worker is registered here with what to do when it ends.

The worker reports job ids; the router hands each result to the handler that submitted it, so no
panel filters the worker's signals by id itself. *Window* jobs (open, upscale, save, model,
inspect, batch) drive the window's progress bar and are what Cancel (Esc) stops; a new open or
upscale supersedes the one before. Other jobs (a training run, a view of the inspector, a cache
flush) run quietly under their own panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# A new job of the key's kind supersedes the running ones of these kinds (they are cancelled).
# A "compare" job (one model of Compare Models…) supersedes nothing: its siblings all run.
SUPERSEDES = {"open": ("open", "upscale", "compare"), "upscale": ("open", "upscale")}


@dataclass
class Job:
    kind: str
    text: str  # e.g. "Upscaling ×2": the status line while it runs, and its name in queues
    window: bool = True
    lane: str = "device"  # "files": reading or writing images, which needs no device and never waits for it
    done: Callable[[Any], None] | None = None
    failed: Callable[[str], None] | None = None
    cancelled: Callable[[], None] | None = None
    started: Callable[[], None] | None = None
    progress: Callable[[float, str, float], None] | None = None  # (fraction, message, ETA seconds or nan)
    running: bool = False


class JobRouter:
    def __init__(self) -> None:
        self.jobs: dict[int, Job] = {}

    def add(self, job_id: int, job: Job) -> list[int]:
        """Register a submitted job; returns the ids it supersedes (to cancel)."""
        superseded = [jid for jid, j in self.jobs.items() if j.kind in SUPERSEDES.get(job.kind, ())]
        self.jobs[job_id] = job
        return superseded

    def get(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def started(self, job_id: int) -> Job | None:
        job = self.jobs.get(job_id)
        if job is not None:
            job.running = True
            if job.started is not None:
                job.started()
        return job

    def progressed(self, job_id: int, fraction: float, message: str, eta: float) -> Job | None:
        job = self.jobs.get(job_id)
        if job is not None and job.progress is not None:
            job.progress(fraction, message, eta)
        return job

    def finished(self, job_id: int, result: Any) -> Job | None:
        job = self.jobs.pop(job_id, None)
        if job is not None and job.done is not None:
            job.done(result)
        return job

    def failed(self, job_id: int, message: str) -> Job | None:
        job = self.jobs.pop(job_id, None)
        if job is not None and job.failed is not None:
            job.failed(message)
        return job

    def cancelled(self, job_id: int) -> Job | None:
        job = self.jobs.pop(job_id, None)
        if job is not None and job.cancelled is not None:
            job.cancelled()
        return job

    def window_jobs(self) -> list[int]:
        return [jid for jid, job in self.jobs.items() if job.window]

    def waits(self, job_id: int, *, besides: str) -> bool:
        """Whether a queued job counts as waiting behind a running job of kind ``besides``: jobs the
        router does not know do, as do window jobs not started yet; the quiet ones do not."""
        job = self.jobs.get(job_id)
        return job is None or (job.window and job.kind != besides and not job.running)

    @property
    def idle(self) -> bool:
        return not self.jobs
