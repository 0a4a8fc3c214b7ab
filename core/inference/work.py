"""How far an upscale is, in time rather than in stages: progress that makes a steady ETA.

The network's stages cost very different amounts: on a CPU a sparse-attention module takes about
six times a residual block, the upsampler three (measured on the bundled ×2 model), so counting
stages put the ETA of a large image off by several times. Each stage is weighted by its expected
seconds per LR pixel instead: a prior ratio until the first run of a model, then what that model
actually took on its device (learned after each run, never during one, so a run's fraction only
ever grows at the rate of the clock).
"""

from __future__ import annotations

from torch import nn

# Relative seconds per LR pixel of each kind of stage before anything is measured (CPU, `light` x2).
PRIOR = {"head": 0.15, "block": 1.0, "attention": 6.0, "tail": 3.0}
LEARN_RATE = 0.5  # weight of the newest run in the learned costs


def stage_kind(model: nn.Module, stage: nn.Module) -> str:
    from core.attention import NonLocalSparseAttention

    if stage is getattr(model, "head", None):
        return "head"
    if stage is getattr(model, "tail", None):
        return "tail"
    return "attention" if isinstance(stage, NonLocalSparseAttention) else "block"


class StageCosts:
    """Seconds per LR pixel of each kind of stage: learned from a model's runs, priors before."""

    def __init__(self, *, scale: int) -> None:
        self.prior = dict(PRIOR, tail=PRIOR["tail"] * (scale / 2) ** 2)  # the upsampler grows with s²
        self.learned: dict[str, float] = {}

    def weight(self, kind: str) -> float:
        if kind in self.learned:
            return self.learned[kind]
        known = next(iter(self.learned), None)  # a measured kind sets the priors' unit of time
        unit = self.learned[known] / self.prior[known] if known is not None else 1.0
        return self.prior[kind] * unit

    def learn(self, timings: dict[str, tuple[float, int]]) -> None:
        """``timings``: kind -> (seconds, LR pixels) of one run."""
        for kind, (seconds, pixels) in timings.items():
            if pixels > 0 and seconds > 0:
                per_pixel = seconds / pixels
                old = self.learned.get(kind)
                self.learned[kind] = per_pixel if old is None else (1 - LEARN_RATE) * old + LEARN_RATE * per_pixel


class WorkMeter:
    """One run's progress: the expected work of every stage to come, and of those done."""

    def __init__(self, costs: StageCosts, kinds: list[str], *, pixels: list[int], passes: int) -> None:
        self.costs = costs
        self.weights = {kind: costs.weight(kind) for kind in set(kinds)}  # fixed for the run
        per_pixel = sum(self.weights[kind] for kind in kinds)
        self.total = passes * sum(pixels) * per_pixel
        self.done = 0.0
        self.timings: dict[str, tuple[float, int]] = {}

    def stage_done(self, kind: str, *, pixels: int, seconds: float) -> float:
        """Count a finished stage; returns the fraction of the run's work done."""
        self.done += self.weights[kind] * pixels
        spent, counted = self.timings.get(kind, (0.0, 0))
        self.timings[kind] = (spent + seconds, counted + pixels)
        return min(self.done / self.total, 1.0) if self.total > 0 else 1.0

    def finish(self) -> None:
        """The run ended: its timings teach the costs of the next one."""
        self.costs.learn(self.timings)
