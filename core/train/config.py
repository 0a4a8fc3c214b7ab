"""The settings of a training run, one to one with its ``config.json`` and the command line."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.base.errors import NLSNError
from core.network import NLSNConfig, preset

PRECISIONS = ("fp32", "bf16")


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
    # under bf16 autocast while weights, optimizer, loss and validation stay fp32. About 2x faster
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
