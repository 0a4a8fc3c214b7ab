"""Everything a run has reported, as the app shows it: fed live by a trainer, or read back from a
run folder (and followed while another process writes it)."""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.base.errors import NLSNError
from core.image import as_rgb_uint8, load_image
from core.train.events import (
    CheckpointEvent,
    DataEvent,
    Event,
    FinishedEvent,
    MessageEvent,
    StepEvent,
    ValidationEvent,
)
from core.train.run_folder import RunFolder
from core.train.validation import stack_previews


def smooth(values: Sequence[float] | np.ndarray, smoothing: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing slider).

    ``smoothing`` in [0, 1) is the weight of the past: 0 returns the values, 0.99 is very smooth;
    the first points are debiased so the curve does not start from zero.
    """
    values = np.asarray(values, dtype=np.float64)
    w = float(min(max(smoothing, 0.0), 0.999))
    out = np.empty_like(values)
    acc = 0.0
    for i, v in enumerate(values.tolist()):
        acc = w * acc + (1.0 - w) * v
        out[i] = acc / (1.0 - w ** (i + 1)) if w > 0 else acc
    return out


@dataclass
class HistorySnapshot:
    """A consistent copy of a :class:`RunHistory`, safe to read on any thread."""

    version: int
    steps: np.ndarray  # (n,) int64: steps of the train log lines
    losses: np.ndarray  # (n,) float64: mean L1 loss since the previous line
    lrs: np.ndarray  # (n,) float64
    it_s: np.ndarray  # (n,) float64: iterations per second
    val_steps: np.ndarray  # (m,) int64
    psnr: np.ndarray  # (m,) float64, dB
    ssim: np.ndarray  # (m,) float64
    preview_steps: list[int]
    step: int  # the newest step seen
    iters: int | None  # the run's target
    eta_s: float
    memory_bytes: int
    state: str
    message_count: int
    checkpoint_step: int | None
    finished: FinishedEvent | None
    preparing: tuple[int, int] | None = None  # (done, total) training images prepared, before step 1

    @property
    def best_index(self) -> int | None:
        return int(np.argmax(self.psnr)) if len(self.psnr) else None

    @property
    def best_psnr(self) -> float | None:
        i = self.best_index
        return None if i is None else float(self.psnr[i])

    @property
    def best_step(self) -> int | None:
        i = self.best_index
        return None if i is None else int(self.val_steps[i])


class RunHistory:
    """Everything a training run has reported, fed by a trainer's listener on any thread.

    Call the history itself as the listener (``Trainer(..., listener=history)``); readers take a
    :meth:`snapshot` (lists copied under a lock) whenever they like, so a UI can refresh at its own
    pace and never per event. :meth:`from_metrics` rebuilds the same record from a run folder
    (``metrics.jsonl``, ``config.json``, ``previews/``) for past runs, and :meth:`update_from_metrics`
    follows a folder that another process is writing. A resumed run that redoes steps replaces
    the records from that step on, as ``metrics.jsonl`` does.
    """

    def __init__(self, run_dir: str | os.PathLike | None = None, *, max_previews: int = 50) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.max_previews = max_previews
        self.config: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._lrs: list[float] = []
        self._it_s: list[float] = []
        self._val_steps: list[int] = []
        self._psnr: list[float] = []
        self._ssim: list[float] = []
        self._previews: list[tuple[int, Any]] = []  # (step, list of strips | Path of a preview png)
        self._preview_cache: dict[int, np.ndarray] = {}
        self._messages: list[tuple[str, str]] = []  # (level, text)
        self._step = 0
        self._iters: int | None = None
        self._eta_s = math.nan
        self._memory = 0
        self._state = "idle"
        self._checkpoint_step: int | None = None
        self._finished: FinishedEvent | None = None
        self._preparing: tuple[int, int] | None = None  # (done, total) until the first step
        self._ema_key: tuple[float, int] | None = None  # (smoothing, truncations) of the cached EMA
        self._ema: list[float] = []
        self._ema_acc: tuple[float, int] = (0.0, 0)
        self._truncations = 0
        self._metrics_offset = 0
        self._metrics_size = 0

    # ------------------------------------------------------------------ writing

    def __call__(self, event: Event) -> None:
        self.add(event)

    def add(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, StepEvent):
                self._add_train(event.step, event.loss, event.lr, event.it_per_s)
                self._iters = event.iters
                self._eta_s = float(event.eta_s)
                self._memory = int(event.memory_bytes)
                self._preparing = None
                if self._state in ("idle", "starting"):
                    self._state = "running"
            elif isinstance(event, ValidationEvent):
                self._add_validation(event.step, event.psnr, event.ssim)
                if event.previews:
                    self._add_preview(event.step, [np.asarray(s) for s in event.previews])
                elif event.preview_path is not None:
                    self._add_preview(event.step, Path(event.preview_path))
            elif isinstance(event, DataEvent):
                self._preparing = (event.done, event.total)
            elif isinstance(event, CheckpointEvent):
                self._checkpoint_step = event.step
            elif isinstance(event, MessageEvent):
                self._messages.append((event.level, event.text))
            elif isinstance(event, FinishedEvent):
                self._finished = event
                self._preparing = None
                self._state = event.reason
                self._step = event.step
                self._eta_s = math.nan
            self._version += 1

    def message(self, text: str, level: str = "info") -> None:
        """A message from the application itself (e.g. a failure outside the trainer)."""
        self.add(MessageEvent(text, level))

    def set_state(self, state: str) -> None:
        with self._lock:
            self._state = state
            self._version += 1

    def _truncate(self, step: int) -> None:
        """Forget records at ``step`` and later: a resumed run redoes them."""
        keep = sum(1 for s in self._steps if s < step)
        if keep < len(self._steps):
            del self._steps[keep:], self._losses[keep:], self._lrs[keep:], self._it_s[keep:]
            self._truncations += 1
        vkeep = sum(1 for s in self._val_steps if s < step)
        del self._val_steps[vkeep:], self._psnr[vkeep:], self._ssim[vkeep:]
        self._previews = [p for p in self._previews if p[0] < step]
        self._preview_cache = {k: v for k, v in self._preview_cache.items() if k < step}

    def _add_train(self, step: int, loss: float, lr: float, it_s: float) -> None:
        if self._steps and step <= self._steps[-1]:
            self._truncate(step)
        self._steps.append(int(step))
        self._losses.append(float(loss))
        self._lrs.append(float(lr))
        self._it_s.append(float(it_s))
        self._step = int(step)

    def _add_validation(self, step: int, psnr: float, ssim: float) -> None:
        if self._val_steps and step <= self._val_steps[-1]:
            keep = sum(1 for s in self._val_steps if s < step)
            del self._val_steps[keep:], self._psnr[keep:], self._ssim[keep:]
        self._val_steps.append(int(step))
        self._psnr.append(float(psnr))
        self._ssim.append(float(ssim))

    def _add_preview(self, step: int, preview: Any) -> None:
        self._previews = [p for p in self._previews if p[0] < step]
        self._preview_cache = {k: v for k, v in self._preview_cache.items() if k < step}
        self._previews.append((int(step), preview))
        if len(self._previews) > self.max_previews:
            dropped = self._previews[: len(self._previews) - self.max_previews]
            del self._previews[: len(dropped)]
            for s, _ in dropped:
                self._preview_cache.pop(s, None)

    # ------------------------------------------------------------------ reading

    @property
    def version(self) -> int:
        """Changes whenever something was added: readers can skip work when it did not."""
        return self._version

    @property
    def state(self) -> str:
        return self._state

    @property
    def step(self) -> int:
        return self._step

    def snapshot(self) -> HistorySnapshot:
        with self._lock:
            return HistorySnapshot(
                version=self._version,
                steps=np.array(self._steps, dtype=np.int64),
                losses=np.array(self._losses, dtype=np.float64),
                lrs=np.array(self._lrs, dtype=np.float64),
                it_s=np.array(self._it_s, dtype=np.float64),
                val_steps=np.array(self._val_steps, dtype=np.int64),
                psnr=np.array(self._psnr, dtype=np.float64),
                ssim=np.array(self._ssim, dtype=np.float64),
                preview_steps=[s for s, _ in self._previews],
                step=self._step,
                iters=self._iters,
                eta_s=self._eta_s,
                memory_bytes=self._memory,
                state=self._state,
                message_count=len(self._messages),
                checkpoint_step=self._checkpoint_step,
                finished=self._finished,
                preparing=self._preparing,
            )

    def messages(self, start: int = 0) -> list[tuple[str, str]]:
        """(level, text) of the messages from number ``start`` on."""
        with self._lock:
            return list(self._messages[start:])

    def ema(self, smoothing: float) -> np.ndarray:
        """The smoothed loss curve (see :func:`smooth`), extended incrementally between calls."""
        with self._lock:
            key = (float(smoothing), self._truncations)
            if key != self._ema_key or len(self._ema) > len(self._losses):
                self._ema_key, self._ema, self._ema_acc = key, [], (0.0, 0)
            new = self._losses[len(self._ema):]
            if new:
                w = float(min(max(smoothing, 0.0), 0.999))
                acc, n = self._ema_acc
                for v in new:
                    acc = w * acc + (1.0 - w) * v
                    n += 1
                    self._ema.append(acc / (1.0 - w**n) if w > 0 else acc)
                self._ema_acc = (acc, n)
            return np.array(self._ema, dtype=np.float64)

    def preview(self, index: int) -> np.ndarray | None:
        """The preview of validation number ``index`` (of the kept ones): strips stacked, (h, w, 3) uint8."""
        with self._lock:
            if not -len(self._previews) <= index < len(self._previews):
                return None
            step, item = self._previews[index]
            cached = self._preview_cache.get(step)
        if cached is not None:
            return cached
        if isinstance(item, Path):
            try:
                image = as_rgb_uint8(load_image(item))
            except NLSNError:
                return None
        else:
            image = stack_previews(item)
        with self._lock:
            self._preview_cache[step] = image
        return image

    # ------------------------------------------------------------------ past runs

    @classmethod
    def from_metrics(cls, run_dir: str | os.PathLike, *, max_previews: int = 50) -> "RunHistory":
        """The history of a run folder written by :class:`Trainer` (finished, stopped or running elsewhere)."""
        folder = RunFolder(run_dir)
        if not folder.path.is_dir():
            raise NLSNError(f"run folder not found: {folder.path}")
        if not folder.is_run():
            raise NLSNError(f"{folder.path}: not a training run (no config.json or metrics.jsonl)")
        history = cls(folder.path, max_previews=max_previews)
        try:
            history.config = json.loads(folder.config.read_text())
        except (OSError, json.JSONDecodeError):
            history.config = {}
        iters = history.config.get("iters")
        history._iters = int(iters) if isinstance(iters, int) else None
        history.update_from_metrics()
        return history

    def update_from_metrics(self) -> bool:
        """Read what was appended to ``metrics.jsonl`` (and ``previews/``) since the last call; True if anything."""
        if self.run_dir is None:
            return False
        path = RunFolder(self.run_dir).metrics
        try:
            size = path.stat().st_size
        except OSError:
            return False
        with self._lock:
            if size < self._metrics_size:  # rewritten (a resume truncated it): start over
                self._metrics_offset = 0
            self._metrics_size = size
            if size == self._metrics_offset:
                return False
            try:
                with open(path, "rb") as fh:
                    fh.seek(self._metrics_offset)
                    data = fh.read()
            except OSError:
                return False
            end = data.rfind(b"\n") + 1  # a half-written last line waits for the next call
            if end == 0:
                return False
            if self._metrics_offset == 0:
                self._clear_records()
            self._metrics_offset += end
            for line in data[:end].splitlines():
                try:
                    record = json.loads(line)
                    step = int(record["step"])
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
                if "psnr" in record:
                    self._add_validation(step, float(record["psnr"]), float(record.get("ssim", math.nan)))
                elif "loss" in record:
                    self._add_train(step, float(record["loss"]), float(record.get("lr", math.nan)),
                                    float(record.get("it_s", math.nan)))
            known = {s for s, _ in self._previews}
            for step, preview in RunFolder(self.run_dir).preview_files()[-self.max_previews:]:
                if step not in known:
                    self._add_preview(step, preview)
            self._previews.sort(key=lambda item: item[0])
            if self._finished is None:
                if self._iters is not None and self._step >= self._iters:
                    self._state = "completed"
                elif self._steps:
                    self._state = "stopped"
            self._version += 1
            return True

    def _clear_records(self) -> None:
        for records in (self._steps, self._losses, self._lrs, self._it_s, self._val_steps, self._psnr, self._ssim):
            records.clear()
        self._previews.clear()
        self._preview_cache.clear()
        self._truncations += 1
        self._step = 0
