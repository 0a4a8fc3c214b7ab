"""Models on the worker: the cache of loaded models, checking a model file, averaging models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.checkpoints import LoadedModel, load_model, write_average
from core.inference import Upscaler


@dataclass
class ModelCache:
    """Loaded models and their upscalers, kept on the worker thread between jobs."""

    entries: dict = field(default_factory=dict)

    def upscaler(self, path: str, *, scale: int, device: str, precision: str = "auto",
                 memory_budget: int | None = None, tile: int | None = None) -> tuple[LoadedModel, Upscaler]:
        """(LoadedModel, Upscaler) for a model file on a device at a precision; loaded once (the
        memory budget and tile size are the caller's each time)."""
        key = (str(path), device, precision)
        if key not in self.entries:
            self.entries.clear()  # one model at a time: the device memory is the worker's
            loaded = load_model(path, expect_scale=scale)
            self.entries[key] = (loaded, Upscaler(loaded.model, device=device, precision=precision))
        loaded, upscaler = self.entries[key]
        upscaler.memory_budget, upscaler.tile = memory_budget, tile
        return loaded, upscaler

    def clear(self) -> None:
        self.entries.clear()


@dataclass
class ModelInfo:
    path: Path
    scale: int
    source: str  # 'released' or 'project' for NLSN, else the architecture ('RCAN', ...)
    description: str


def inspect_model(path: Path):
    def run(ctx) -> ModelInfo:
        loaded = load_model(path)
        kind = f"{loaded.source} model" if loaded.is_nlsn else "model"
        description = f"{kind}, ×{loaded.scale}, {loaded.description()}"
        return ModelInfo(Path(path), loaded.scale, loaded.source if loaded.is_nlsn else loaded.architecture,
                         description)

    return run


def average_models(paths: list[Path], out: Path):
    """Average model files of one configuration into ``out`` (a project .safetensors file)."""

    def run(ctx) -> ModelInfo:
        ctx.progress(0.0, f"reading {len(paths)} models")
        loaded = write_average(paths, out)
        ctx.models.clear()  # a cached model read from ``out`` before is stale now
        description = f"the average of {len(paths)} models, ×{loaded.scale}, {loaded.description()}"
        return ModelInfo(loaded.path, loaded.scale, loaded.source, description)

    return run


def model_statistics(path: str, *, width: int, height: int, device: str):
    """(name, :class:`~core.inspection.stats.ModelStats`) of a model file at an LR size, measured on a
    fresh copy (the cached upscaler's model stays as it is)."""
    from core.inspection.stats import model_stats

    def run(ctx):
        ctx.progress(0.1, "loading the model")
        loaded = load_model(path)
        ctx.check()
        ctx.progress(0.3, "measuring")
        return loaded.name, model_stats(loaded.model, width, height, device=device)

    return run


def forget_models(ctx) -> None:
    """Drop the cached models, so the files as they are now are read (a run wrote a new one)."""
    ctx.models.clear()
