"""Jobs of the main window: closures run on the worker thread, made only of ``core/`` calls.

Each factory returns ``fn(ctx) -> result``; the result is a small dataclass the window shows.
Display arrays are made here too, so the UI thread only hands ready pixels to the views.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.image import Image, load_image, save_image
from core.eval.compare import Comparison, add_bicubic, add_result, prepare
from core.image import display_rgb


@dataclass
class Prepared:
    image: Image
    name: str
    path: Path | None
    comparison: Comparison
    displays: dict[str, np.ndarray]
    remember: bool = True  # add to the recent files


@dataclass
class Upscaled:
    comparison: Comparison
    displays: dict[str, np.ndarray]
    model_name: str
    device: str
    how: str


@dataclass
class ModelInfo:
    path: Path
    scale: int
    source: str
    description: str


def _prepared(image: Image, *, name: str, path: Path | None, mode: str, scale: int, ctx, remember: bool) -> Prepared:
    comparison = prepare(image, mode=mode, scale=scale)
    ctx.progress(0.3, "bicubic")
    ctx.check()
    add_bicubic(comparison)
    displays = {"lr": display_rgb(comparison.lr), "bicubic": display_rgb(comparison.bicubic)}
    if comparison.hr is not None:
        displays["hr"] = display_rgb(comparison.hr)
    ctx.progress(1.0, "done")
    return Prepared(image, name, path, comparison, displays, remember)


def open_image(path: Path, *, mode: str, scale: int, remember: bool = True):
    def run(ctx) -> Prepared:
        image = load_image(path)
        ctx.check()
        return _prepared(image, name=path.name, path=path, mode=mode, scale=scale, ctx=ctx, remember=remember)

    return run


def prepare_image(image: Image, *, name: str, mode: str, scale: int, path: Path | None = None):
    def run(ctx) -> Prepared:
        return _prepared(image, name=name, path=path, mode=mode, scale=scale, ctx=ctx, remember=False)

    return run


def upscale(image: Image, *, name: str, mode: str, scale: int, model: str, device: str, seed: int):
    def run(ctx) -> Upscaled:
        ctx.progress(0.0, "loading the model")
        loaded, upscaler = ctx.models.upscaler(model, scale=scale, device=device)
        comparison = add_bicubic(prepare(image, mode=mode, scale=scale))
        ctx.check()
        start = time.perf_counter()
        sr = upscaler.upscale_image(comparison.lr, seed=seed, progress=ctx.progress, cancel=ctx.cancelled)
        add_result(comparison, sr, seconds=time.perf_counter() - start)
        displays = {"nlsn": display_rgb(sr), "lr": display_rgb(comparison.lr),
                    "bicubic": display_rgb(comparison.bicubic)}
        if comparison.hr is not None:
            displays["hr"] = display_rgb(comparison.hr)
        run_info = upscaler.last_run
        how = f"{run_info.tiles} tiles" if run_info.tiles > 1 else "whole image"
        return Upscaled(comparison, displays, loaded.name, str(upscaler.device).upper(), how)

    return run


def save(image: Image, path: Path):
    def run(ctx) -> Path:
        save_image(path, image)
        return path

    return run


def _shape(c) -> str:
    """A model configuration in words, as the status bar shows it."""
    return (f"×{c.scale}, {c.n_feats} features, {c.n_resblocks} blocks"
            + ("" if c.use_nlsa else ", no sparse attention"))


def inspect_model(path: Path):
    def run(ctx) -> ModelInfo:
        from core.checkpoints import load_model

        loaded = load_model(path)
        description = f"{loaded.source} model, {_shape(loaded.config)}"
        return ModelInfo(Path(path), loaded.config.scale, loaded.source, description)

    return run


def average_models(paths: list[Path], out: Path):
    """Average model files of one configuration into ``out`` (a project .safetensors file)."""

    def run(ctx) -> ModelInfo:
        from core.checkpoints import write_average

        ctx.progress(0.0, f"reading {len(paths)} models")
        loaded = write_average(paths, out)
        ctx.models.clear()  # a cached model read from ``out`` before is stale now
        description = f"the average of {len(paths)} models, {_shape(loaded.config)}"
        return ModelInfo(loaded.path, loaded.config.scale, loaded.source, description)

    return run
