"""The training panel's state, without Qt: the run it trains, what that run is doing, the list of
runs it knows, and the texts it shows about them."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.base.errors import NLSNError
from core.base.text import duration_in_words, format_bytes, format_duration
from core.train import FinishedEvent, HistorySnapshot, RunHistory, StepEstimate, TrainConfig, Trainer
from nlsn_gui.state.store import Store, read_list

SETTINGS = "training"
LIVE_COLOUR = "#409cff"
# state -> (words, colour of its dot or None)
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
    "completed": ("Completed", LIVE_COLOUR),
    "diverged": ("Diverged", "#e0443e"),
    "failed": ("Failed", "#e0443e"),
    "cancelled": ("Cancelled", "#8c8c8c"),
}
QUEUE_HINT = ("The app keeps working while a run trains: opening, upscaling and inspecting run between two "
              "training steps, on the same device.")


def device_defaults(device: str) -> TrainConfig:
    """The form's first settings for ``device`` (what the Auto device resolves to).

    A GPU gets the paper's recipe. On a CPU it would take weeks (1,000,000 steps of 16 patches at
    about 3.5 s each for `light`), so the form starts with a run that ends within the hour: 2,000
    steps of 4 patches, validated and saved along the way. Every field stays the user's to change."""
    if device != "cpu":
        return TrainConfig()
    return TrainConfig(iters=2_000, batch=4, val_every=200, save_every=500)


def expected_text(estimate: StepEstimate | None, *, iters: int, timing: bool = False) -> str:
    """What the form says about a run's length before Start."""
    if estimate is None:
        return "Timing one step on this device…" if timing else ""
    where = estimate.device.upper() if estimate.device != "cpu" else "this CPU"
    total = estimate.run_seconds(iters)
    step = f"{estimate.seconds:.2f} s" if estimate.seconds < 10 else f"{estimate.seconds:.0f} s"
    text = f"About {step} a step on {where}: {iters:,} steps in about {duration_in_words(total)}"
    if total <= 86_400:
        return text
    return text + f" (more than a day: fewer iterations, a smaller batch{' or a GPU' if estimate.device == 'cpu' else ''}?)"


def default_run_dir(preset: str, scale: int, root: Path | None = None) -> Path:
    """A new run folder: ``~/NLSN runs/<preset>-x<scale>-<date-time>``."""
    root = root or Path.home() / "NLSN runs"
    return root / f"{preset}-x{scale}-{time.strftime('%Y%m%d-%H%M%S')}"


@dataclass
class LiveRun:
    """A run trained by the panel, from its submission until its job ends."""

    trainer: Trainer
    history: RunHistory
    run_dir: Path
    job_id: int = 0
    started: bool = False  # the worker began the job (it may have queued behind another)
    ended: bool = False
    done: threading.Event = field(default_factory=threading.Event)  # set on the worker when run() returns

    def state(self) -> str:
        """idle, queued, starting, preparing, running, pausing, paused, stopping, or how it ended."""
        if self.ended:
            return self.history.state
        if not self.started:
            return "queued"
        state = self.trainer.state
        if state in ("running", "pausing", "paused") and self.trainer.stop_requested:
            return "stopping"
        if state == "idle":
            return "starting"
        if state == "running" and self.history.step == 0 and self.trainer.step == 0:
            return "preparing"
        return state


def view_state(run: LiveRun | None, history: RunHistory | None) -> str:
    """What the run in view (live, or opened from its folder) is doing."""
    if run is not None and history is run.history:
        return run.state()
    return history.state if history is not None else "idle"


def finished_text(result: FinishedEvent, run_dir: Path) -> tuple[str, str]:
    """(message, level) when a run ends."""
    if result.reason == "completed":
        return f"Completed {result.step:,} steps. “Use this model” makes it the upscale model.", "info"
    if result.reason == "stopped":
        return (f"Stopped at step {result.step:,}; a checkpoint is saved. Resume run… "
                f"(or Runs › Resume…) continues {run_dir.name}.", "info")
    return result.message.replace("--lr", "learning rate"), "error"


def stats_text(snap: HistorySnapshot, *, iters: int | None, live: bool, paused: bool = False) -> str:
    """Step, speed, time left (live runs), memory and last loss, or the data preparation.

    While paused there is no speed nor time left to tell: the last ones would only look frozen."""
    if snap.preparing is not None and snap.finished is None:
        done, total = snap.preparing
        return f"preparing the training images: {done:,} / {total:,}"
    parts = [f"step {snap.step:,}" + (f" / {iters:,}" if iters else "")]
    if live and paused:
        parts.append("paused")
    else:
        if len(snap.it_s):
            parts.append(f"{snap.it_s[-1]:.2f} it/s")
        if live and math.isfinite(snap.eta_s):
            parts.append(f"ETA {format_duration(snap.eta_s)}")
    if snap.memory_bytes:
        parts.append(format_bytes(snap.memory_bytes))
    if len(snap.losses):
        parts.append(f"loss {snap.losses[-1]:.4f}")
    return "  ·  ".join(parts)


def progress_of(snap: HistorySnapshot, *, iters: int | None) -> tuple[float, str]:
    """(fraction, text) of the progress bar."""
    if snap.preparing is not None and snap.finished is None:
        done, total = snap.preparing
        return done / max(total, 1), f"images {100 * done / max(total, 1):.0f}%"
    if iters:
        return min(snap.step / iters, 1.0), f"{100 * snap.step / iters:.1f}%"
    return 0.0, ""


def queue_text(waiting: dict[int, str]) -> str:
    if waiting:
        return f"Next, after the current training step: {', '.join(waiting.values())}."
    return QUEUE_HINT


class RunList:
    """The runs the panel lists (newest first) and those ticked for overlaying, remembered."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.paths: list[str] = [p for p in read_list(store, f"{SETTINGS}/runs") if Path(p).is_dir()]
        self.checked: set[str] = set(read_list(store, f"{SETTINGS}/runs_checked")) & set(self.paths)
        self.histories: dict[str, RunHistory] = {}  # of the ticked runs, read from their folders

    def add(self, run_dir: Path, *, checked: bool = False) -> bool:
        """List ``run_dir`` first; True when it was not listed yet."""
        key = str(run_dir)
        new = key not in self.paths
        if new:
            self.paths.insert(0, key)
        if checked:
            self.checked.add(key)
        self.save()
        return new

    def remove(self, run_dir: Path) -> None:
        key = str(run_dir)
        if key in self.paths:
            self.paths.remove(key)
        self.checked.discard(key)
        self.histories.pop(key, None)
        self.save()

    def set_checked(self, run_dir: Path, checked: bool) -> None:
        (self.checked.add if checked else self.checked.discard)(str(run_dir))
        self.save()

    def checked_runs(self) -> list[Path]:
        return [Path(p) for p in self.paths if p in self.checked]

    def overlays(self, current: Path | None) -> list[tuple[str, RunHistory]]:
        """(name, history) of the ticked runs but ``current``, read (or brought up to date) from their
        folders; a folder that is no run any more is left out."""
        shown = []
        for path in self.checked_runs():
            if current is not None and path == current:
                continue
            key = str(path)
            try:
                if key in self.histories:
                    self.histories[key].update_from_metrics()
                else:
                    self.histories[key] = RunHistory.from_metrics(path)
            except NLSNError:
                continue
            shown.append((path.name, self.histories[key]))
        return shown

    def follow(self) -> bool:
        """Read what the ticked runs appended since; True when any changed."""
        checked = {str(p) for p in self.checked_runs()}
        return any([h.update_from_metrics() for key, h in self.histories.items() if key in checked])

    def save(self) -> None:
        self.store.setValue(f"{SETTINGS}/runs", list(self.paths))
        self.store.setValue(f"{SETTINGS}/runs_checked", [p for p in self.paths if p in self.checked])


def brief_text(state: str, snap: HistorySnapshot | None, *, iters: int | None, name: str) -> str:
    """One short line for the window's status bar: the run, how far it is, and its time left."""
    if snap is None or state in ("queued", "starting", "preparing"):
        return f"Training {name}: {state}…"
    where = f"{snap.step:,} / {iters:,}" if iters else f"step {snap.step:,}"
    if state == "running":
        eta = f" · ETA {format_duration(snap.eta_s)}" if math.isfinite(snap.eta_s) else ""
        return f"Training {name}: {where}{eta}"
    return f"Training {name}: {state} at {where}"


def run_line(name: str, snap: HistorySnapshot, *, iters: int | None, state: str) -> str:
    """A run in the Runs list: its name, how far it got, its best PSNR and how it stands."""
    parts = [f"{snap.step:,}" + (f" / {iters:,}" if iters else "") + " steps"]
    if snap.best_step is not None:
        parts.append(f"best {snap.best_psnr:.2f} dB")
    parts.append(state)
    return f"{name}  —  " + " · ".join(parts)


def describe_run(run_dir: Path) -> str:
    """:func:`run_line` of a run folder, read from its files."""
    try:
        history = RunHistory.from_metrics(run_dir, max_previews=1)
    except NLSNError:
        return f"{run_dir.name}  —  not readable"
    iters = history.config.get("iters")
    return run_line(run_dir.name, history.snapshot(), iters=iters if isinstance(iters, int) else None,
                    state=history.state)
