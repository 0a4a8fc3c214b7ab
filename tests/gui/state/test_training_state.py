"""The training panel's state without Qt: what a run is doing, the texts about it, the run list."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.train import FinishedEvent, HistorySnapshot, RunHistory, StepEstimate, TrainConfig
from tests.gui.state.store import MemoryStore
from nlsn_gui.state.training import (
    LiveRun,
    RunList,
    brief_text,
    device_defaults,
    expected_text,
    finished_text,
    progress_of,
    queue_text,
    stats_text,
    view_state,
)


class FakeTrainer:
    def __init__(self, state="idle", step=0, stop_requested=False):
        self.state, self.step, self.stop_requested = state, step, stop_requested


def test_the_state_of_a_live_run():
    history = RunHistory()
    run = LiveRun(trainer=FakeTrainer(), history=history, run_dir=Path("r"))
    assert run.state() == "queued"
    run.started = True
    assert run.state() == "starting"
    run.trainer.state = "running"
    assert run.state() == "preparing"  # no step yet
    run.trainer.step = 3
    assert run.state() == "running"
    run.trainer.stop_requested = True
    assert run.state() == "stopping"
    run.ended = True
    history.set_state("stopped")
    assert run.state() == "stopped"
    assert view_state(run, RunHistory()) == "idle"  # another run in view
    assert view_state(None, None) == "idle"


def snapshot(**kw) -> HistorySnapshot:
    base = dict(version=1, steps=np.array([10, 20]), losses=np.array([0.2, 0.1]), lrs=np.array([1e-4, 1e-4]),
                it_s=np.array([2.0, 2.5]), val_steps=np.array([], np.int64), psnr=np.array([]), ssim=np.array([]),
                preview_steps=[], step=20, iters=100, eta_s=32.0, memory_bytes=3 * 2**30, state="running",
                message_count=0, checkpoint_step=None, finished=None)
    return HistorySnapshot(**{**base, **kw})


def test_texts_about_a_run():
    snap = snapshot()
    assert stats_text(snap, iters=100, live=True) == "step 20 / 100  ·  2.50 it/s  ·  ETA 0:32  ·  3.0 GB  ·  loss 0.1000"
    assert "ETA" not in stats_text(snapshot(eta_s=math.nan), iters=100, live=True)
    assert progress_of(snap, iters=100) == (0.2, "20.0%")
    preparing = snapshot(preparing=(3, 12))
    assert stats_text(preparing, iters=100, live=True) == "preparing the training images: 3 / 12"
    assert progress_of(preparing, iters=100) == (0.25, "images 25%")
    assert "Upscaling ×2" in queue_text({5: "Upscaling ×2"})
    paused = stats_text(snap, iters=100, live=True, paused=True)
    assert paused == "step 20 / 100  ·  paused  ·  3.0 GB  ·  loss 0.1000"  # no frozen speed or ETA
    assert brief_text("running", snap, iters=100, name="r") == "Training r: 20 / 100 · ETA 0:32"
    assert brief_text("paused", snap, iters=100, name="r") == "Training r: paused at 20 / 100"
    assert brief_text("preparing", None, iters=100, name="r") == "Training r: preparing…"
    text, level = finished_text(FinishedEvent(7, "diverged", "the loss exploded: Try a lower --lr."), Path("r"))
    assert level == "error" and "learning rate" in text and "--lr" not in text


def test_run_list_remembers_order_and_ticks(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    store = MemoryStore()
    runs = RunList(store)
    assert runs.add(a) and runs.add(b, checked=True) and not runs.add(a)
    assert runs.paths == [str(b), str(a)] and runs.checked_runs() == [b]
    again = RunList(store)
    assert again.paths == [str(b), str(a)] and again.checked_runs() == [b]
    assert again.overlays(current=None) == []  # b is no run (no config.json): left out
    again.remove(b)
    assert RunList(store).paths == [str(a)] and RunList(store).checked_runs() == []


def test_defaults_fit_the_device_and_the_form_says_how_long():
    assert device_defaults("cuda") == TrainConfig()  # a GPU: the paper's recipe
    cpu = device_defaults("cpu")
    assert (cpu.iters, cpu.batch, cpu.preset) == (2_000, 4, "light") and cpu.val_every <= cpu.iters
    assert expected_text(StepEstimate(1.04, "cpu"), iters=2_000) == "About 1.04 s a step on this CPU: 2,000 steps in about 35 min"
    gpu = expected_text(StepEstimate(0.12, "cuda:0"), iters=1_000_000)
    assert gpu == "About 0.12 s a step on CUDA:0: 1,000,000 steps in about 33 h 20 min (more than a day: " \
                  "fewer iterations, a smaller batch?)"
    assert expected_text(StepEstimate(3.5, "cpu"), iters=1_000_000).endswith("a smaller batch or a GPU?)")
    assert expected_text(None, iters=10, timing=True) == "Timing one step on this device…"
