"""The training engine: the paper's recipe, resumable runs, live events, DDP under torchrun.

One :class:`Trainer` serves the command line (``nlsn train``) and the app's worker thread:
``run()`` blocks; ``pause()``, ``resume()`` and ``stop()`` may be called from any thread, and every
step, validation and checkpoint is reported to a listener as an event (:mod:`.events`). What it
writes is laid out in :mod:`.run_folder`.

Randomness never touches the global RNGs: patches come from ``(seed, sample number)``, the LSH
rotations of a step from ``(seed, step, rank)``, so a resumed run sees exactly the batches and
hashes it would have seen without the interruption.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.base.allocator import keep_freed_memory
from core.base.errors import NLSNError
from core.base.fileio import atomic_write, os_error_reason
from core.base.interrupt import interruptible
from core.checkpoints import save_model
from core.data import PatchSampler, Prefetcher, load_training_images
from core.inference import select_device
from core.inference.devices import used_memory
from core.network import NLSN, NLSNConfig, count_parameters
from core.train.config import TrainConfig
from core.train.dist import DistContext
from core.train.events import (
    CheckpointEvent,
    DataEvent,
    Event,
    FinishedEvent,
    Listener,
    MessageEvent,
    StepEvent,
    ValidationEvent,
)
from core.train.metrics_log import MetricsLog
from core.train.run_folder import RunFolder
from core.train.setup import bf16_problem, load_init_source
from core.train.state import load_state, provenance, save_state
from core.train.validation import validate

EMA_DECAY = 0.98  # smoothing of the loss for the explosion check
EXPLODE_WARMUP = 50  # steps before the explosion check starts
PAUSE_POLL_S = 0.05  # while paused, how often the jobs queued meanwhile are served
DATA_EVENT_INTERVAL_S = 0.25  # at most this often a DataEvent while the images are prepared


class _AbortStep(Exception):
    """Raised inside a forward/backward to abandon the current step when stop() is called."""


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The LSH rotations of one step on one rank: a function of (seed, step, rank) only."""
    mixed = np.random.SeedSequence([seed, step, rank]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(mixed))


def init_model(config: NLSNConfig, seed: int) -> NLSN:
    """Build the network with seeded initial weights, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NLSN(config)


class Trainer:
    """One training run in ``run_dir``; ``resume=True`` continues the run found there."""

    def __init__(
        self,
        config: TrainConfig | None,
        run_dir: str | os.PathLike,
        *,
        resume: bool = False,
        listener: Listener | None = None,
        dist: DistContext | None = None,
        between_steps: Callable[[], object] | None = None,
    ) -> None:
        self.folder = RunFolder(run_dir)
        self.run_dir = self.folder.path
        self.resume_run = resume
        if resume:
            saved = self.folder.config
            if not saved.is_file():
                raise NLSNError(f"{self.run_dir}: not a training run (no config.json)")
            stored = TrainConfig.load(saved)
            if config is not None:  # explicit overrides on resume (e.g. more iterations)
                stored = config
            config = stored
        elif config is None:
            raise NLSNError("a new run needs a training configuration")
        config.validate()
        self.config = config
        self.listener = listener
        self.dist = dist or DistContext()
        # Called between two steps and while paused, on the training thread: the app serves the
        # jobs queued meanwhile (open, upscale, inspect) there, so the run never locks it.
        self.between_steps = between_steps
        self._idle_s = 0.0  # paused, or serving others between steps: no training time
        if config.batch % self.dist.world_size:
            raise NLSNError(f"batch {config.batch} does not split over {self.dist.world_size} processes")
        self._log = MetricsLog(self.folder, enabled=False)  # opened by run()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.state = "idle"
        self.step = 0
        self.best_psnr = -math.inf
        self.model: NLSN | None = None  # the trained (raw) weights
        self.ema_model: NLSN | None = None  # their moving average, when ema_decay > 0

    # ------------------------------------------------------------------ control (any thread)

    def pause(self) -> None:
        self._running.clear()
        if self.state == "running":
            self.state = "pausing"  # "paused" once the current step has ended

    def resume(self) -> None:
        self._running.set()
        if self.state in ("paused", "pausing"):
            self.state = "running"

    def stop(self) -> None:
        """Stop as soon as possible (the current step is abandoned) and save a checkpoint."""
        self._stop.set()
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # ------------------------------------------------------------------ events

    def _emit(self, event: Event) -> None:
        if self.listener is not None and self.dist.is_main:
            self.listener(event)

    def _message(self, text: str, level: str = "info") -> None:
        self._emit(MessageEvent(text, level))

    # ------------------------------------------------------------------ set-up

    def _device(self) -> torch.device:
        if self.dist.enabled and torch.cuda.is_available() and self.config.device in ("auto", "cuda"):
            torch.cuda.set_device(self.dist.local_rank)
            return torch.device("cuda", self.dist.local_rank)
        device = select_device(self.config.device)
        return device

    def _load_data(self) -> PatchSampler:
        cfg = self.config
        cache = Path(cfg.cache_dir) if cfg.cache_dir else self.folder.cache
        warn = (lambda text: self._message(text, "warning")) if self.dist.is_main else (lambda text: None)
        shown = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            if self.stop_requested and not self.dist.enabled:  # DDP ranks stop together, later
                raise _AbortStep
            now = time.perf_counter()
            if done in (0, total) or now - shown >= DATA_EVENT_INTERVAL_S:
                shown = now
                self._emit(DataEvent(done, total))

        images = load_training_images(
            [Path(d) for d in cfg.data],
            scale=cfg.scale,
            lr_dirs=[Path(d) for d in cfg.lr_data] if cfg.lr_data else None,
            min_lr_size=cfg.patch,
            cache_dir=cache,
            warn=warn,
            progress=progress,
        )
        self._message(f"{len(images)} training images, x{cfg.scale}, {cfg.patch}x{cfg.patch} LR patches")
        return PatchSampler(images, scale=cfg.scale, patch=cfg.patch, augment=cfg.augment, seed=cfg.seed)

    def _build_model(self) -> NLSN:
        cfg = self.config
        model = init_model(cfg.model_config(), cfg.seed)
        if cfg.init_from and not self.resume_run:
            loaded = load_init_source(cfg)
            source = loaded.model.state_dict()
            own = model.state_dict()
            # Another scale's upsampler starts fresh: x2's even has the shape of x4's first stage,
            # but not its job. The same scale keeps everything (continuing or fine-tuning a model).
            same_scale = loaded.config.scale == cfg.scale
            taken = {
                k: v for k, v in source.items()
                if k in own and v.shape == own[k].shape and (same_scale or not k.startswith("tail.0."))
            }
            own.update(taken)
            model.load_state_dict(own, strict=True)
            # load_init_source refused other configurations: only an upsampler can be left out.
            note = "" if len(taken) == len(own) else " (the upsampler starts fresh)"
            self._message(f"started from {Path(cfg.init_from).name}: {len(taken)} of {len(own)} tensors{note}")
        return model

    # ------------------------------------------------------------------ files

    @property
    def checkpoint_path(self) -> Path:
        return self.folder.checkpoint

    def _provenance(self, elapsed: float) -> dict:
        return provenance(self.config, step=self.step, best_psnr=self.best_psnr, elapsed=elapsed,
                          averaged=self.ema_model is not None)

    def _save_checkpoint(self, model: NLSN, optimizer: torch.optim.Optimizer, *, elapsed: float) -> None:
        if not self.dist.is_main:
            return
        save_state(self.folder.checkpoint, step=self.step, model=model, optimizer=optimizer, ema_model=self.ema_model,
                   best_psnr=self.best_psnr, elapsed=elapsed, config=self.config)
        save_model(self.folder.model_last, self._exported(model), provenance=self._provenance(elapsed))
        self._emit(CheckpointEvent(self.step, self.folder.checkpoint))

    def _keep_snapshot(self, model: NLSN) -> None:
        if not self.dist.is_main:
            return
        path = self.folder.snapshot(self.step)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise NLSNError(f"cannot keep a snapshot in {self.run_dir} ({os_error_reason(err)})") from None
        save_model(path, self._exported(model), provenance=self._provenance(self._elapsed()))

    def _exported(self, model: NLSN) -> NLSN:
        """The network that is validated and written out: the weight average when there is one."""
        return self.ema_model if self.ema_model is not None else model

    def _load_checkpoint(self, model: NLSN, optimizer: torch.optim.Optimizer) -> float:
        path = self.folder.checkpoint
        if not path.is_file():
            self._message("no checkpoint yet: starting the run from step 0", "warning")
            return 0.0
        state = load_state(path)
        model.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
        if self.ema_model is not None:
            if isinstance(state.get("ema"), dict):
                self.ema_model.load_state_dict(state["ema"], strict=True)
            else:  # EMA switched on when resuming a run that had none
                self.ema_model.load_state_dict(model.state_dict(), strict=True)
                self._message("the checkpoint holds no weight average: it starts from the current weights")
        self.step = int(state["step"])
        self.best_psnr = float(state["best_psnr"])
        self._message(f"resumed {self.run_dir.name} at step {self.step}")
        return float(state.get("elapsed", 0.0))

    # ------------------------------------------------------------------ validation

    def _validate(self, model: NLSN, device: torch.device) -> None:
        if not self.config.val or not self.dist.is_main:
            return
        result = validate(model, device=device, folder=Path(self.config.val), scale=self.config.scale,
                          previews=self.config.previews, preview_path=self.folder.preview(self.step))
        is_best = result.psnr > self.best_psnr
        if is_best:
            self.best_psnr = result.psnr
            save_model(self.folder.model_best, model, provenance=self._provenance(self._elapsed()))
        self._log.write({"step": self.step, "psnr": round(result.psnr, 4), "ssim": round(result.ssim, 6),
                         "time": time.time()})
        self._emit(ValidationEvent(self.step, result.psnr, result.ssim, self.best_psnr, is_best, result.strips,
                                   result.preview))

    def _elapsed(self) -> float:
        return self._elapsed_before + (time.perf_counter() - self._started) - self._idle_s

    def _serve(self) -> float:
        """Let ``between_steps`` run; returns the seconds it took (not training time)."""
        if self.between_steps is None:
            return 0.0
        start = time.perf_counter()
        self.between_steps()
        spent = time.perf_counter() - start
        self._idle_s += spent
        return spent

    def _wait_while_paused(self) -> None:
        start = time.perf_counter()
        while not self._running.wait(PAUSE_POLL_S):
            if self.between_steps is not None:
                self.between_steps()
        self._idle_s += time.perf_counter() - start

    # ------------------------------------------------------------------ the loop

    def _abort_check(self) -> None:
        if self._stop.is_set():
            raise _AbortStep()

    def _install_abort_hooks(self, model: NLSN) -> list:
        """Let stop() interrupt a long step (single process only: DDP ranks must stay in step)."""
        if self.dist.enabled:
            return []

        def check(*_args):
            self._abort_check()

        handles = []
        # Before every convolution in the forward pass, and whenever a weight's gradient is ready
        # in the backward pass (tensor hooks: module backward hooks clash with in-place ReLUs).
        for module in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
            handles.append(module.register_forward_pre_hook(check))
            handles.append(module.weight.register_hook(check))
        return handles

    def run(self) -> FinishedEvent:
        """Train until ``iters`` (or stop/divergence); returns how it ended."""
        cfg = self.config
        self.state = "running"
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not self.resume_run and self.folder.config.exists():
                raise NLSNError(f"{self.run_dir}: already holds a run; resume it with --resume or choose another --out")
            atomic_write(self.folder.config, json.dumps(cfg.to_dict(), indent=2).encode())
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        device = self._device()
        if device.type == "cpu":
            keep_freed_memory()  # every step re-allocates the same large tensors (core/base/allocator.py)
        amp = cfg.precision == "bf16"
        if amp and (problem := bf16_problem(device)) is not None:
            level, text = problem
            if level == "error":
                raise NLSNError(text)
            self._message(text, "warning")
        try:
            sampler = self._load_data()
        except _AbortStep:  # stop() while preparing: what is prepared stays in the cache
            sampler = None
        model = self._build_model().to(device)
        self.model = model  # the unwrapped network
        self.ema_model = self._make_ema(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
        self._elapsed_before = self._load_checkpoint(model, optimizer) if self.resume_run else 0.0
        if sampler is None:
            self._save_checkpoint(model, optimizer, elapsed=self._elapsed_before)
            finished = FinishedEvent(self.step, "stopped", f"stopped while preparing the training data (at step "
                                     f"{self.step}); resume with --resume {self.run_dir}")
            self.state = finished.reason
            self._emit(finished)
            return finished
        self._log = MetricsLog(self.folder, enabled=self.dist.is_main)
        self._log.truncate_after(self.step)
        self._log.open_tensorboard(self.step, warn=lambda text: self._message(text, "warning"))
        if self.step == 0:
            self._message(
                f"model {cfg.preset} x{cfg.scale}: {count_parameters(model) / 1e6:.2f}M parameters on {device}"
                + (f", {self.dist.world_size} processes" if self.dist.enabled else "")
                + (", bf16 mixed precision" if amp else "")
            )
        train_model: torch.nn.Module = model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        model.train()
        hooks = self._install_abort_hooks(model)
        per_rank = cfg.batch // self.dist.world_size
        self._started = time.perf_counter()
        ema = None
        window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
        finished: FinishedEvent | None = None
        prefetch = Prefetcher(sampler, start_step=self.step, batch_size=per_rank,
                              rank=self.dist.rank, world_size=self.dist.world_size)
        try:
            while self.step < cfg.iters and finished is None:
                if not self._running.is_set():
                    self.state = "paused"
                    self._wait_while_paused()
                    window_start = time.perf_counter()  # paused time is no training time
                if self.dist.any(self._stop.is_set(), device):
                    break
                served = self._serve()
                window_start += served  # nor is the time spent on others' jobs
                if served and self._stop.is_set():  # (single process only: no hook under torchrun)
                    break
                if self._running.is_set():
                    self.state = "running"
                step, lr_batch, hr_batch = prefetch.next()
                assert step == self.step
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr_at(self.step)
                try:
                    with interruptible(None if self.dist.enabled else self._abort_check), \
                            torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                        sr = train_model(lr_batch.to(device, non_blocking=True),
                                         generator=step_generator(cfg.seed, self.step, self.dist.rank))
                    loss = F.l1_loss(sr.float(), hr_batch.to(device, non_blocking=True))
                    value = self.dist.mean(loss.detach())
                    if not math.isfinite(value):
                        finished = self._diverged(f"the loss became {value} at step {self.step + 1}")
                        break
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                except _AbortStep:
                    optimizer.zero_grad(set_to_none=True)
                    break
                optimizer.step()
                self._update_ema(model)
                self.step += 1
                ema = value if ema is None else EMA_DECAY * ema + (1 - EMA_DECAY) * value
                if self.step > EXPLODE_WARMUP and value > cfg.explode_factor * ema:
                    finished = self._diverged(
                        f"the loss exploded at step {self.step} ({value:.4g}, running mean {ema:.4g})"
                    )
                    break
                window_loss += value
                window_steps += 1
                if self.step % cfg.log_every == 0 or self.step == cfg.iters:
                    now = time.perf_counter()
                    rate = window_steps / max(now - window_start, 1e-9)
                    mean = window_loss / window_steps
                    self._log.write({"step": self.step, "loss": round(mean, 6), "lr": cfg.lr_at(self.step - 1),
                               "it_s": round(rate, 3), "time": time.time()})
                    self._emit(StepEvent(self.step, cfg.iters, mean, cfg.lr_at(self.step - 1), rate,
                                         (cfg.iters - self.step) / max(rate, 1e-9), used_memory(device)))
                    window_loss, window_steps, window_start = 0.0, 0, now
                if self.step % cfg.val_every == 0 or self.step == cfg.iters:
                    try:
                        self._validate(self._exported(model), device)
                    except _AbortStep:  # stop() during a validation: skip it and stop as usual
                        if self.step >= cfg.iters:
                            self._save_checkpoint(model, optimizer, elapsed=self._elapsed())
                        break
                if cfg.keep_every and self.step % cfg.keep_every == 0:
                    self._keep_snapshot(model)
                if self.step % cfg.save_every == 0 or self.step == cfg.iters:
                    self._save_checkpoint(model, optimizer, elapsed=self._elapsed())
        finally:
            prefetch.close()
            for handle in hooks:
                handle.remove()
        if finished is None:
            if self.step >= cfg.iters:
                finished = FinishedEvent(self.step, "completed", f"finished {self.step} steps")
            else:
                self._save_checkpoint(model, optimizer, elapsed=self._elapsed())
                finished = FinishedEvent(self.step, "stopped", f"stopped at step {self.step}; resume with --resume {self.run_dir}")
        self._log.close()
        self.state = finished.reason
        self._emit(finished)
        return finished

    def _make_ema(self, model: NLSN) -> NLSN | None:
        if self.config.ema_decay <= 0:
            return None
        ema = copy.deepcopy(model)  # before the abort hooks go on: the average needs none
        ema.requires_grad_(False)
        return ema

    @torch.no_grad()
    def _update_ema(self, model: NLSN) -> None:
        """average <- decay * average + (1 - decay) * weights (every rank: their weights are equal)."""
        if self.ema_model is None:
            return
        weight = 1.0 - self.config.ema_decay
        for avg, param in zip(self.ema_model.parameters(), model.parameters()):
            avg.lerp_(param.detach(), weight)
        for avg, buf in zip(self.ema_model.buffers(), model.buffers()):
            avg.copy_(buf)

    def _diverged(self, what: str) -> FinishedEvent:
        kept = self.checkpoint_path if self.checkpoint_path.exists() else None
        where = f"the last good checkpoint ({kept}) is kept" if kept else "no checkpoint had been written yet"
        return FinishedEvent(self.step, "diverged", f"{what}: training stopped; {where}. Try a lower --lr.")
