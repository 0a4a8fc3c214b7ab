"""Opening, preparing, upscaling and saving the window's image."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.errors import NLSNError
from core.eval.compare import Comparison, add_bicubic, add_result, prepare
from core.image import Image, display_rgb, load_image, save_image
from core.image.animation import frame_count
from core.inference.batch import upscale_animation
from core.inference.output_size import OutputSize, fit_to


@dataclass
class Prepared:
    image: Image
    name: str
    path: Path | None
    comparison: Comparison
    displays: dict[str, np.ndarray]
    remember: bool = True  # add to the recent files
    frames: int = 1  # an animation's frames (the first is shown; Save As GIF/WebP/PNG does them all)


@dataclass
class Upscaled:
    comparison: Comparison
    displays: dict[str, np.ndarray]
    model_name: str
    device: str
    how: str
    model: str  # the file
    seed: int
    architecture: str = "NLSN"
    rounds: int | None = None  # hash rounds, when not the model's own
    tile: int | None = None  # the tile size asked for, when the image went through in tiles of it


def _displays(comparison: Comparison) -> dict[str, np.ndarray]:
    displays = {"lr": display_rgb(comparison.lr), "bicubic": display_rgb(comparison.bicubic)}
    if comparison.hr is not None:
        displays["hr"] = display_rgb(comparison.hr)
    if comparison.sr is not None:
        displays["nlsn"] = display_rgb(comparison.sr)
    return displays


def _prepared(image: Image, *, name: str, path: Path | None, mode: str, scale: int, ctx, remember: bool) -> Prepared:
    comparison = prepare(image, mode=mode, scale=scale)
    ctx.progress(0.3, "bicubic")
    ctx.check()
    add_bicubic(comparison)
    ctx.progress(1.0, "done")
    return Prepared(image, name, path, comparison, _displays(comparison), remember)


def open_image(path: Path, *, mode: str, scale: int, remember: bool = True):
    def run(ctx) -> Prepared:
        try:
            image = load_image(path)
        except NLSNError as err:  # the app says where: the file name alone is not enough in a dialog
            raise NLSNError(f"{path}: {str(err).split(': ', 1)[-1]}") from None
        ctx.check()
        prepared = _prepared(image, name=path.name, path=path, mode=mode, scale=scale, ctx=ctx, remember=remember)
        prepared.frames = frame_count(path)
        return prepared

    return run


def prepare_image(image: Image, *, name: str, mode: str, scale: int, path: Path | None = None):
    def run(ctx) -> Prepared:
        return _prepared(image, name=name, path=path, mode=mode, scale=scale, ctx=ctx, remember=False)

    return run


def upscale(image: Image, *, mode: str, scale: int, model: str, device: str, seed: int,
            ensemble: bool = False, precision: str = "auto", memory_budget: int | None = None,
            tile: int | None = None, rounds: int | None = None):
    def run(ctx) -> Upscaled:
        ctx.progress(0.0, "loading the model")
        loaded, upscaler = ctx.models.upscaler(model, scale=scale, device=device, precision=precision,
                                               memory_budget=memory_budget, tile=tile)
        upscaler.rounds = rounds if loaded.is_nlsn else None  # another architecture has no hashing
        comparison = add_bicubic(prepare(image, mode=mode, scale=scale))
        ctx.check()
        start = time.perf_counter()
        sr = upscaler.upscale_image(comparison.lr, seed=seed, ensemble=ensemble, progress=ctx.progress,
                                    cancel=ctx.cancelled)
        add_result(comparison, sr, seconds=time.perf_counter() - start)
        run_info = upscaler.last_run
        return Upscaled(comparison, _displays(comparison), loaded.name, str(upscaler.device).upper(), run_info.text(),
                        model, seed, loaded.architecture, upscaler.rounds,
                        tile if run_info.tiles > 1 else None)

    return run


def save(image: Image, path: Path, *, size: OutputSize | None = None, quality: int = 95):
    """Write ``image`` (taken to ``size`` by the MATLAB bicubic first, when given)."""
    def run(ctx) -> Path:
        save_image(path, fit_to(image, size) if size is not None else image, quality=quality)
        return path

    return run


def save_animation(src: Path, dst: Path, *, scale: int, model: str, device: str, seed: int, ensemble: bool = False,
                   precision: str = "auto", quality: int = 95):
    """Every frame of the animated ``src`` upscaled into ``dst`` (GIF, WebP or APNG), timing kept."""
    def run(ctx) -> Path:
        _, upscaler = ctx.models.upscaler(model, scale=scale, device=device, precision=precision)

        def one(frame, *, progress, cancel):
            return upscaler.upscale_image(frame, seed=seed, ensemble=ensemble, progress=progress, cancel=cancel)

        upscale_animation(src, dst, upscale_fn=one, progress=ctx.progress, cancel=ctx.cancelled, quality=quality)
        return dst

    return run
