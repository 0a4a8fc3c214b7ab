"""What a run reports to its listener: steps, validations, checkpoints, messages, the end, data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


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
