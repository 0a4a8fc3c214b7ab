"""How long a run will take: one training step of its configuration, timed on its device.

The step is the trainer's own (forward with a fresh hash, L1 loss, backward, Adam), on random
patches of the run's size, with its precision; nothing is read from disk and no global RNG is
touched. On a CPU the time of a step grows with the batch in proportion, so a large batch is
timed on a part of it and scaled, which keeps the estimate to a few seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from core.base.allocator import keep_freed_memory
from core.base.errors import Cancelled
from core.inference import select_device
from core.train.config import TrainConfig

CPU_TIMED_BATCH = 4  # patches timed on a CPU (then scaled to the batch)
SLOW_STEP_S = 2.0  # a first step this slow is timed once more only


@dataclass(frozen=True)
class StepEstimate:
    seconds: float  # one step of the whole batch
    device: str  # e.g. "cpu", "cuda:0"

    def run_seconds(self, steps: int) -> float:
        """The training time of ``steps`` steps (validations and checkpoints not counted)."""
        return self.seconds * steps


def estimate_step(config: TrainConfig, *, repeats: int = 2, cancelled: Callable[[], bool] | None = None) -> StepEstimate:
    """Time a step of ``config``: the mean of ``repeats`` steps after a first, untimed one."""
    device = select_device(config.device)
    timed = config.batch if device.type != "cpu" else min(config.batch, CPU_TIMED_BATCH)
    generator = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        from core.network import NLSN

        model = NLSN(config.model_config()).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps)
    size = config.patch
    lr = torch.rand(timed, 3, size, size, generator=generator).to(device)
    hr = torch.rand(timed, 3, size * config.scale, size * config.scale, generator=generator).to(device)
    amp = config.precision == "bf16"

    def step() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            sr = model(lr, generator=generator)
        loss = F.l1_loss(sr.float(), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    if device.type == "cpu":
        keep_freed_memory()  # as the trainer does (core/base/allocator.py)
    start = time.perf_counter()
    step()  # allocations, kernel choice: not the steady state
    if time.perf_counter() - start > SLOW_STEP_S:
        repeats = 1
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    seconds = (time.perf_counter() - start) / repeats * config.batch / timed
    return StepEstimate(seconds=seconds, device=str(device))
