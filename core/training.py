"""Training engine: the paper's recipe, resumable runs, live events, DDP under torchrun.

One :class:`Trainer` serves the command line (``nlsn train``) and the GUI's worker thread:
``run()`` blocks; ``pause()``, ``resume()`` and ``stop()`` may be called from any thread, and
every step, validation and checkpoint is reported to a listener as an event.

A run folder holds ``config.json``, ``metrics.jsonl`` (one JSON object per logged step; validation
lines add ``psnr``/``ssim``), ``checkpoints/last.pt`` (model, optimiser, step, RNG: everything a
resume needs, written atomically so even SIGKILL loses at most the steps since it),
``model_last.safetensors`` / ``model_best.safetensors`` (ready to upscale with), ``previews/``
and TensorBoard event files in ``tb/``.

Randomness never touches the global RNGs: patches come from ``(seed, sample number)``, the LSH
rotations of a step from ``(seed, step, rank)``, so a resumed run sees exactly the batches and
hashes it would have seen without the interruption.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.allocator import keep_freed_memory
from core.checkpoint import load_model, save_model
from core.errors import NLSNError
from core.fileio import atomic_write, os_error_reason
from core.interrupt import interruptible
from core.nlsn import NLSN, PRESETS, NLSNConfig, count_parameters, preset

TRAIN_STATE_FORMAT = "nlsn-train-state"
EMA_DECAY = 0.98  # smoothing of the loss for the explosion check
EXPLODE_WARMUP = 50  # steps before the explosion check starts
PRECISIONS = ("fp32", "bf16")
DATA_EVENT_INTERVAL_S = 0.25  # at most this often a DataEvent while the images are prepared


# --------------------------------------------------------------------------- configuration


@dataclass
class TrainConfig:
    """Arguments of a training run, one to one with ``config.json`` and the command line.

    Defaults are the paper's recipe: 48x48 LR patches, batch 16, flips and rotations, L1 loss,
    Adam (0.9, 0.99, 1e-8), lr 1e-4 halved every 200k iterations (200 epochs of 1000), 1M iterations.
    ``batch`` is the global batch, split evenly over the processes of a distributed run.
    """

    data: list[str] = field(default_factory=list)
    scale: int = 2
    preset: str = "light"
    model: dict[str, Any] = field(default_factory=dict)  # overrides of NLSNConfig fields
    lr_data: list[str] | None = None  # paired LR folders, one per data folder
    val: str | None = None  # benchmark folder for validation (None: no validation)
    init_from: str | None = None  # model file or bundled name to start from (e.g. x2 weights for x3/x4)
    iters: int = 1_000_000
    batch: int = 16
    patch: int = 48
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    lr_halve_every: int = 200_000
    lr_gamma: float = 0.5
    # Linear ramp of the lr over the first ``warmup`` steps (0: none, the paper). For runs that
    # start from trained weights (--init-from): a fresh Adam's first updates move every weight by
    # about lr at once, whatever its gradient, before its moment estimates have settled.
    warmup: int = 0
    augment: bool = True
    seed: int = 0
    log_every: int = 10
    save_every: int = 1000
    val_every: int = 1000
    previews: int = 3  # validation images whose crops are kept as previews
    device: str = "auto"
    threads: int = 0  # CPU threads for torch (0: torch's default, all cores)
    cache_dir: str | None = None  # where prepared training pairs are cached (None: in the run folder)
    explode_factor: float = 20.0  # stop when the loss exceeds this multiple of its running mean
    # "fp32" (the paper) or "bf16": mixed precision, the forward's convolutions and attention
    # under bf16 autocast while weights, optimizer, loss and validation stay fp32. 1.7x faster
    # on a CPU with AVX-512 BF16 (benchmarks/training_speed.py); also for AMX and bf16 GPUs.
    precision: str = "fp32"
    # Exponential moving average of the weights (0: off, the paper). After every step the average
    # moves towards the trained weights by (1 - ema_decay); it is what is validated and written to
    # model_last / model_best, while the optimizer keeps training the raw weights (BasicSR's
    # ``ema_decay``, 0.999 there). The average smooths the noise of the last updates away,
    # as a lower learning rate would, without slowing the training itself.
    ema_decay: float = 0.0
    # Keep the model of every K-th step as snapshots/step_XXXXXXXX.safetensors (0: none), e.g. to
    # average a run's last stretch (``nlsn average``). Like model_last, the weight average when on.
    keep_every: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise NLSNError(f"unknown training settings: {', '.join(unknown)}")
        data = dict(data)
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as err:
            raise NLSNError(f"{Path(path).name}: not a readable training configuration ({err})") from None

    def model_config(self) -> NLSNConfig:
        base = preset(self.preset, scale=self.scale)
        try:
            return NLSNConfig.from_dict({**base.to_dict(), **self.model, "scale": self.scale})
        except (TypeError, ValueError) as err:
            raise NLSNError(f"invalid model settings: {err}") from None

    def validate(self) -> None:
        if not self.data:
            raise NLSNError("no training data: give at least one --data folder")
        if self.scale not in (2, 3, 4):
            raise NLSNError(f"scale must be 2, 3 or 4, not {self.scale}")
        for name in ("iters", "batch", "patch", "log_every", "save_every", "val_every", "lr_halve_every"):
            if getattr(self, name) <= 0:
                raise NLSNError(f"{name} must be positive")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise NLSNError("lr must be a positive number")
        if self.warmup < 0:
            raise NLSNError("warmup must be zero or positive")
        if self.keep_every < 0:
            raise NLSNError("keep_every must be zero (no snapshots) or positive")
        if not 0.0 <= self.ema_decay < 1.0:
            raise NLSNError(f"ema_decay must be at least 0 (off) and below 1, not {self.ema_decay}")
        if self.precision not in PRECISIONS:
            raise NLSNError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.lr_data is not None and len(self.lr_data) != len(self.data):
            raise NLSNError("give one LR folder per HR folder (--lr-data)")

    def lr_at(self, step: int) -> float:
        """Step schedule of the paper: halved every ``lr_halve_every`` iterations (after ``warmup``
        steps rising linearly to ``lr``, when set)."""
        lr = self.lr * self.lr_gamma ** (step // self.lr_halve_every)
        if step < self.warmup:
            lr *= (step + 1) / (self.warmup + 1)
        return lr


# --------------------------------------------------------------------------- events


@dataclass
class StepEvent:
    step: int
    iters: int
    loss: float  # mean over the steps since the last event
    lr: float
    it_per_s: float
    eta_s: float
    memory_bytes: int


@dataclass
class ValidationEvent:
    step: int
    psnr: float
    ssim: float
    best_psnr: float
    is_best: bool
    previews: list[np.ndarray]  # each (h, 3w, 3) uint8: LR (nearest) | SR | HR
    preview_path: Path | None = None


@dataclass
class CheckpointEvent:
    step: int
    path: Path


@dataclass
class MessageEvent:
    text: str
    level: str = "info"  # info | warning | error


@dataclass
class FinishedEvent:
    step: int
    reason: str  # completed | stopped | diverged
    message: str


@dataclass
class DataEvent:
    """The training images being prepared (read, downscaled, cached): ``done`` of ``total``."""

    done: int
    total: int


Event = StepEvent | ValidationEvent | CheckpointEvent | MessageEvent | FinishedEvent | DataEvent
Listener = Callable[[Event], None]


# --------------------------------------------------------------------------- distributed


@dataclass
class DistContext:
    """Where this process stands in a (possibly) distributed run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def dist_from_env() -> DistContext:
    """Under torchrun (WORLD_SIZE > 1) join the process group: NCCL on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    ctx = DistContext(rank=int(os.environ["RANK"]), world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return ctx


# --------------------------------------------------------------------------- helpers


def bf16_problem(device: torch.device) -> tuple[str, str] | None:
    """Why bf16 mixed precision cannot run (level "error") or would not pay (level "warning") on
    ``device``, as (level, text); None when it runs natively."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return None
        return "error", f"{torch.cuda.get_device_name(device)} has no bf16 support: train with precision fp32"
    if device.type != "cpu":
        return "error", f"bf16 training is not available on {device.type}: train with precision fp32"
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    if native:
        return None
    return "warning", ("this CPU has no native bf16 (AVX-512 BF16 or AMX): bf16 runs emulated and "
                       "is likely slower than fp32")


def _describe(config: NLSNConfig) -> str:
    return (f"{config.n_feats} features and {config.n_resblocks} blocks"
            + ("" if config.use_nlsa else " without sparse attention"))


def load_init_source(config: TrainConfig):
    """The model ``config.init_from`` names (a file or a bundled model's name), checked to be the
    run's configuration (any scale)."""
    from core.registry import resolve_model

    loaded = load_model(resolve_model(config.init_from, scale=config.scale))
    have, want = loaded.config, config.model_config()
    if (have.n_feats, have.n_resblocks, have.use_nlsa) != (want.n_feats, want.n_resblocks, want.use_nlsa):
        raise NLSNError(
            f"{Path(config.init_from).name} has {_describe(have)}; the {config.preset} configuration has "
            f"{_describe(want)}: start from a {config.preset} model, or choose its configuration"
        )
    return loaded


class _AbortStep(Exception):
    """Raised inside a forward/backward to abandon the current step when stop() is called."""


def _memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _preview_strip(lr: np.ndarray, sr: np.ndarray, hr: np.ndarray, *, scale: int, size: int = 48) -> np.ndarray:
    """A fixed centre crop of ``size`` LR pixels: LR (nearest) | SR | HR, (s*size, 3*s*size, 3)."""
    h, w = lr.shape[:2]
    size = min(size, h, w)
    y, x = (h - size) // 2, (w - size) // 2
    lr_crop = lr[y : y + size, x : x + size].repeat(scale, axis=0).repeat(scale, axis=1)
    ys, xs, ss = y * scale, x * scale, size * scale
    return np.concatenate([lr_crop, sr[ys : ys + ss, xs : xs + ss], hr[ys : ys + ss, xs : xs + ss]], axis=1)


def _step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The LSH rotations of one step on one rank: a function of (seed, step, rank) only."""
    mixed = np.random.SeedSequence([seed, step, rank]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(mixed))


def _init_model(config: NLSNConfig, seed: int) -> NLSN:
    """Build the network with seeded initial weights, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NLSN(config)


# --------------------------------------------------------------------------- the trainer


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
    ) -> None:
        self.run_dir = Path(run_dir)
        self.resume_run = resume
        if resume:
            saved = self.run_dir / "config.json"
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
        if config.batch % self.dist.world_size:
            raise NLSNError(f"batch {config.batch} does not split over {self.dist.world_size} processes")
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
        from core.inference import select_device

        if self.dist.enabled and torch.cuda.is_available() and self.config.device in ("auto", "cuda"):
            torch.cuda.set_device(self.dist.local_rank)
            return torch.device("cuda", self.dist.local_rank)
        device = select_device(self.config.device)
        return device

    def _load_data(self):
        from core.data import PatchSampler, load_training_images

        cfg = self.config
        cache = Path(cfg.cache_dir) if cfg.cache_dir else self.run_dir / "cache"
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
        model = _init_model(cfg.model_config(), cfg.seed)
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
        return self.run_dir / "checkpoints" / "last.pt"

    def _save_checkpoint(self, model: NLSN, optimizer: torch.optim.Optimizer, *, elapsed: float) -> None:
        if not self.dist.is_main:
            return
        state = {
            "format": TRAIN_STATE_FORMAT,
            "step": self.step,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "best_psnr": float(self.best_psnr),
            "elapsed": float(elapsed),
            "config": json.dumps(self.config.to_dict()),
        }
        if self.ema_model is not None:
            state["ema"] = {k: v.detach().cpu() for k, v in self.ema_model.state_dict().items()}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        try:
            self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.checkpoint_path, buffer.getvalue())
        except OSError as err:
            raise NLSNError(f"cannot save the checkpoint in {self.run_dir} ({os_error_reason(err)})") from None
        save_model(self.run_dir / "model_last.safetensors", self._exported(model),
                   provenance=self._provenance(elapsed))
        self._emit(CheckpointEvent(self.step, self.checkpoint_path))

    def _keep_snapshot(self, model: NLSN) -> None:
        if not self.dist.is_main:
            return
        path = self.run_dir / "snapshots" / f"step_{self.step:08d}.safetensors"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise NLSNError(f"cannot keep a snapshot in {self.run_dir} ({os_error_reason(err)})") from None
        save_model(path, self._exported(model), provenance=self._provenance(self._elapsed()))

    def _exported(self, model: NLSN) -> NLSN:
        """The network that is validated and written out: the weight average when there is one."""
        return self.ema_model if self.ema_model is not None else model

    def _provenance(self, elapsed: float) -> dict[str, Any]:
        return {
            "trained_by": "nlsn train",
            "step": self.step,
            "data": [Path(d).name for d in self.config.data],  # folder names: no local paths in shipped files
            "scale": self.config.scale,
            "preset": self.config.preset,
            "best_psnr": None if self.best_psnr == -math.inf else round(self.best_psnr, 4),
            "val": Path(self.config.val).name if self.config.val else None,
            "seconds": round(elapsed, 1),
            # the file holds the weights' moving average (ema_decay), not the last step's weights
            **({"ema_decay": self.config.ema_decay} if self.ema_model is not None else {}),
        }

    def _load_checkpoint(self, model: NLSN, optimizer: torch.optim.Optimizer) -> float:
        path = self.checkpoint_path
        if not path.is_file():
            self._message("no checkpoint yet: starting the run from step 0", "warning")
            return 0.0
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear answer
            raise NLSNError(f"{path}: checkpoint cannot be read ({type(err).__name__}); the run cannot resume") from None
        if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
            raise NLSNError(f"{path}: not a training checkpoint of this tool")
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

    def _truncate_metrics(self) -> None:
        """After a resume, drop log lines written after the checkpoint (they will be redone)."""
        path = self.run_dir / "metrics.jsonl"
        if not path.is_file() or not self.dist.is_main:
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= self.step:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut by a kill
        atomic_write(path, ("\n".join(kept) + "\n").encode() if kept else b"")

    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if key not in ("step", "time") and isinstance(value, (int, float)):
                    self._tb.add_scalar(f"{'val' if 'psnr' in record else 'train'}/{key}", value, record["step"])

    def _open_tensorboard(self) -> None:
        self._tb = None
        if not self.dist.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self._message("tensorboard is not installed: no event files are written", "warning")
            return
        self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step or None)

    # ------------------------------------------------------------------ validation

    def _validate(self, model: NLSN, device: torch.device) -> None:
        from core.evaluation import evaluate
        from core.imageio import Image, save_image
        from core.inference import Upscaler

        if not self.config.val or not self.dist.is_main:
            return
        model.eval()
        try:
            upscaler = Upscaler(model, device=device, half=False)
            scores = evaluate(Path(self.config.val), scale=self.config.scale, upscaler=upscaler,
                              keep_images=self.config.previews)
        finally:
            model.train()
        mean_psnr = float(np.mean([s.psnr for s in scores]))
        mean_ssim = float(np.mean([s.ssim for s in scores]))
        is_best = mean_psnr > self.best_psnr
        if is_best:
            self.best_psnr = mean_psnr
            save_model(self.run_dir / "model_best.safetensors", model, provenance=self._provenance(self._elapsed()))
        strips = [_preview_strip(s.lr, s.sr, s.hr, scale=self.config.scale) for s in scores if s.sr is not None]
        preview_path = None
        if strips:
            width = max(s.shape[1] for s in strips)
            padded = [np.pad(s, ((0, 2), (0, width - s.shape[1]), (0, 0))) for s in strips]
            preview_path = self.run_dir / "previews" / f"{self.step:08d}.png"
            preview_path.parent.mkdir(parents=True, exist_ok=True)
            save_image(preview_path, Image(np.concatenate(padded, axis=0)))
        self._log({"step": self.step, "psnr": round(mean_psnr, 4), "ssim": round(mean_ssim, 6), "time": time.time()})
        self._emit(ValidationEvent(self.step, mean_psnr, mean_ssim, self.best_psnr, is_best, strips, preview_path))

    def _elapsed(self) -> float:
        return self._elapsed_before + (time.perf_counter() - self._started)

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
        from core.data import Prefetcher

        cfg = self.config
        self.state = "running"
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not self.resume_run and (self.run_dir / "config.json").exists():
                raise NLSNError(f"{self.run_dir}: already holds a run; resume it with --resume or choose another --out")
            atomic_write(self.run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2).encode())
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        device = self._device()
        if device.type == "cpu":
            keep_freed_memory()  # every step re-allocates the same large tensors (core/allocator.py)
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
        self._truncate_metrics()
        self._open_tensorboard()
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
                    self._running.wait()
                    window_start = time.perf_counter()  # paused time is no training time
                if self._stop_agreed(device):
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
                                         generator=_step_generator(cfg.seed, self.step, self.dist.rank))
                    loss = F.l1_loss(sr.float(), hr_batch.to(device, non_blocking=True))
                    value = self._mean_over_ranks(loss.detach())
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
                    self._log({"step": self.step, "loss": round(mean, 6), "lr": cfg.lr_at(self.step - 1),
                               "it_s": round(rate, 3), "time": time.time()})
                    self._emit(StepEvent(self.step, cfg.iters, mean, cfg.lr_at(self.step - 1), rate,
                                         (cfg.iters - self.step) / max(rate, 1e-9), _memory_bytes(device)))
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
        if self._tb is not None:
            self._tb.close()
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

    def _mean_over_ranks(self, value: torch.Tensor) -> float:
        """The loss averaged over ranks, so logs and divergence checks agree on every rank."""
        if self.dist.enabled:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.dist.world_size
        return float(value)

    def _stop_agreed(self, device: torch.device) -> bool:
        """Whether to stop now; in a distributed run every rank must stop at the same step."""
        if not self.dist.enabled:
            return self._stop.is_set()
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self._stop.is_set() else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def _diverged(self, what: str) -> FinishedEvent:
        kept = self.checkpoint_path if self.checkpoint_path.exists() else None
        where = f"the last good checkpoint ({kept}) is kept" if kept else "no checkpoint had been written yet"
        return FinishedEvent(self.step, "diverged", f"{what}: training stopped; {where}. Try a lower --lr.")


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (lines cut by a kill are skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def default_data_dirs() -> Sequence[Path]:
    """The 291-image set beside the project checkout, when present (a default path only)."""
    root = Path(__file__).resolve().parents[2] / "shared" / "data"
    train = root / "train"
    return [p for p in (train / "T91", train / "BSD200") if p.is_dir()]


def default_val_dir() -> Path | None:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark" / "Set5"
    return path if path.is_dir() else None


# --------------------------------------------------------------------------- for the GUI


def check_setup(config: TrainConfig, run_dir: str | os.PathLike, *, resume: bool = False) -> None:
    """Fail fast, with one readable line, on what would only fail once a run had started."""
    config.validate()
    for folder in config.data:
        if not Path(folder).is_dir():
            raise NLSNError(f"training folder not found: {folder}")
    for folder in config.lr_data or []:
        if not Path(folder).is_dir():
            raise NLSNError(f"LR folder not found: {folder}")
    if config.val and not Path(config.val).is_dir():
        raise NLSNError(f"validation folder not found: {config.val}")
    if config.preset not in PRESETS:
        raise NLSNError(f"unknown configuration {config.preset!r}; choose from {', '.join(PRESETS)}")
    if config.init_from and not resume:
        load_init_source(config)
    run_dir = Path(run_dir)
    if not str(run_dir).strip():
        raise NLSNError("choose an output folder for the run")
    if resume:
        if not (run_dir / "config.json").is_file():
            raise NLSNError(f"{run_dir}: not a training run (no config.json)")
    else:
        if (run_dir / "config.json").exists():
            raise NLSNError(f"{run_dir} already holds a run: resume it, or choose another output folder")
        if run_dir.exists() and not run_dir.is_dir():
            raise NLSNError(f"{run_dir} is a file, not a folder")


def stack_previews(strips: Sequence[np.ndarray]) -> np.ndarray | None:
    """Preview strips (LR | SR | HR) one under the other, exactly as saved in ``previews/NNNNNNNN.png``."""
    if not strips:
        return None
    width = max(s.shape[1] for s in strips)
    padded = [np.pad(s, ((0, 2), (0, width - s.shape[1]), (0, 0))) for s in strips]
    return np.ascontiguousarray(np.concatenate(padded, axis=0))


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
            from core.imageio import load_image

            try:
                pixels = load_image(item).pixels
            except NLSNError:
                return None
            image = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
            if image.dtype != np.uint8:
                image = (image >> 8).astype(np.uint8)
        else:
            image = stack_previews(item)
        with self._lock:
            self._preview_cache[step] = image
        return image

    # ------------------------------------------------------------------ past runs

    @classmethod
    def from_metrics(cls, run_dir: str | os.PathLike, *, max_previews: int = 50) -> "RunHistory":
        """The history of a run folder written by :class:`Trainer` (finished, stopped or running elsewhere)."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise NLSNError(f"run folder not found: {run_dir}")
        if not (run_dir / "config.json").is_file() and not (run_dir / "metrics.jsonl").is_file():
            raise NLSNError(f"{run_dir}: not a training run (no config.json or metrics.jsonl)")
        history = cls(run_dir, max_previews=max_previews)
        try:
            history.config = json.loads((run_dir / "config.json").read_text())
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
        path = self.run_dir / "metrics.jsonl"
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
            previews = sorted((self.run_dir / "previews").glob("[0-9]*.png"))[-self.max_previews:]
            known = {s for s, _ in self._previews}
            for p in previews:
                if p.stem.isdigit() and int(p.stem) not in known:
                    self._add_preview(int(p.stem), p)
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


_WARM = threading.Event()
_WARM_LOCK = threading.Lock()
_WARM_STARTED = False


def warm_up() -> threading.Event:
    """Import the training engine's heavy parts on a background thread, once; returns an event set when done.

    For an interactive caller (the GUI), whose UI thread must not stall while a run starts: the
    first optimiser pulls in ``torch._dynamo`` (about a second of imports whose C parts hold the
    GIL for up to ~100 ms at a time), and TensorBoard's writer is not light either. Afterwards
    everything alive is frozen out of the cyclic garbage collector (``gc.freeze``): a full
    collection walking torch's millions of objects holds the GIL for 100-200 ms.
    """
    global _WARM_STARTED
    with _WARM_LOCK:
        if _WARM_STARTED:
            return _WARM
        _WARM_STARTED = True

    def work() -> None:
        import gc

        collecting = gc.isenabled()
        gc.disable()  # importing makes many objects: no full collections meanwhile
        try:
            import importlib

            for name in ("core.data", "core.evaluation"):
                importlib.import_module(name)

            torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-4)
            try:
                importlib.import_module("torch.utils.tensorboard")
            except ImportError:
                pass
        except Exception:  # noqa: BLE001 - only a warm-up: a run reports real problems itself
            pass
        finally:
            gc.freeze()  # what exists now lives as long as the process
            if collecting:
                gc.enable()
            _WARM.set()

    threading.Thread(target=work, name="nlsn-train-warm-up", daemon=True).start()
    return _WARM
