"""The training panel's job: one :class:`~core.train.Trainer` run on the worker until it ends.

Between two steps (and while paused) the run serves the jobs queued on the worker meanwhile, so
opening, upscaling and inspecting keep working while it trains."""

from __future__ import annotations

import threading

from core.train import FinishedEvent, StepEstimate, TrainConfig, Trainer, estimate_step


def train_job(trainer: Trainer, ended: threading.Event):
    """Run ``trainer``; the job's cancel (the window closing) stops it cleanly, with a checkpoint."""

    def run(ctx) -> FinishedEvent:
        trainer.between_steps = ctx.serve_queued
        watching = threading.Event()

        def watch() -> None:
            while not watching.wait(0.1):
                if ctx.cancelled():
                    trainer.stop()
                    return

        threading.Thread(target=watch, name="nlsn-train-cancel", daemon=True).start()
        try:
            return trainer.run()
        finally:
            watching.set()
            ended.set()

    return run


def estimate_job(config: TrainConfig):
    """Time one training step of ``config`` on its device."""

    def run(ctx) -> StepEstimate:
        return estimate_step(config, cancelled=ctx.cancelled)

    return run
