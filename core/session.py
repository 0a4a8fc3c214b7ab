"""What the app's compare window does, without Qt: prepare inputs, bicubic, scores, batches.

Two modes (the GUI's and ``nlsn upscale``'s):

* ``upscale``: the opened image is the LR input; there is no ground truth.
* ``simulate``: the opened image is the HR truth; it is cropped to a multiple of the scale and
  downscaled with the MATLAB-exact bicubic (the benchmark protocol), then upscaled, so NLSN and
  bicubic can be scored against it (PSNR/SSIM on Y, ``scale`` border pixels cropped).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import Cancelled, NLSNError
from core.evaluation import as_rgb_uint8
from core.imageio import SUPPORTED_READ, SUPPORTED_WRITE, Image, load_image, save_image
from core.metrics import psnr, ssim
from core.resize import downscale, modcrop, upscale

MODES = ("upscale", "simulate")
MIN_SIMULATE_SIDE = 8  # LR pixels: smaller HR images cannot be simulated meaningfully


@dataclass
class Scores:
    psnr: float
    ssim: float

    def text(self) -> str:
        return f"PSNR {self.psnr:.2f} dB · SSIM {self.ssim:.4f}"


@dataclass
class Comparison:
    """LR input, optional HR truth, and the results computed so far."""

    mode: str
    scale: int
    lr: Image
    hr: Image | None = None
    bicubic: Image | None = None
    sr: Image | None = None
    bicubic_scores: Scores | None = None
    sr_scores: Scores | None = None
    diff: np.ndarray | None = None  # (sH, sW) float32 mean |SR - HR| over RGB, 0..255 scale
    seconds: float = 0.0
    info: dict = field(default_factory=dict)


def _resize_image(image: Image, fn: Callable[[np.ndarray, int], np.ndarray], scale: int) -> Image:
    """Apply a MATLAB bicubic resize to pixels and alpha, keeping dtype and channels."""
    pixels = fn(image.pixels, scale)
    alpha = fn(image.alpha, scale) if image.alpha is not None else None
    return Image(pixels=pixels, alpha=alpha, source=image.source, format=image.format)


def simulate_lr(hr: Image, scale: int) -> tuple[Image, Image]:
    """(LR, cropped HR) of the benchmark protocol: modcrop, then MATLAB bicubic downscaling."""
    if min(hr.height, hr.width) < scale * MIN_SIMULATE_SIDE:
        raise NLSNError(
            f"{hr.width}x{hr.height} is too small to simulate x{scale}: "
            f"the HR image needs at least {scale * MIN_SIMULATE_SIDE} pixels per side"
        )
    alpha = modcrop(hr.alpha, scale) if hr.alpha is not None else None
    cropped = Image(pixels=modcrop(hr.pixels, scale), alpha=alpha, source=hr.source, format=hr.format)
    return _resize_image(cropped, downscale, scale), cropped


def prepare(image: Image, *, mode: str, scale: int) -> Comparison:
    """The comparison for an opened image: its LR input (and HR truth in simulate mode)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "simulate":
        lr, hr = simulate_lr(image, scale)
        return Comparison(mode=mode, scale=scale, lr=lr, hr=hr)
    return Comparison(mode=mode, scale=scale, lr=image)


def bicubic(image: Image, scale: int) -> Image:
    """MATLAB ``imresize(lr, scale, 'bicubic')`` of an image (8/16-bit, grey and alpha kept)."""
    return _resize_image(image, upscale, scale)


def score(result: Image, hr: Image, scale: int) -> Scores:
    """PSNR/SSIM of the SR protocol (Y channel, ``scale`` border pixels cropped, 8-bit)."""
    a, b = as_rgb_uint8(result), as_rgb_uint8(hr)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = a[:h, :w], b[:h, :w]
    return Scores(psnr(a, b, border=scale), ssim(a, b, border=scale))


def difference(result: Image, hr: Image) -> np.ndarray:
    """(H, W) float32 mean absolute RGB difference on the 0..255 scale."""
    a = as_rgb_uint8(result).astype(np.float32)
    b = as_rgb_uint8(hr).astype(np.float32)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:h, :w] - b[:h, :w]).mean(axis=2)


def add_bicubic(comparison: Comparison) -> Comparison:
    comparison.bicubic = bicubic(comparison.lr, comparison.scale)
    if comparison.hr is not None:
        comparison.bicubic_scores = score(comparison.bicubic, comparison.hr, comparison.scale)
    return comparison


def add_result(comparison: Comparison, sr: Image, *, seconds: float = 0.0) -> Comparison:
    """Store the network's output; with HR known, score it and make the difference map."""
    comparison.sr = sr
    comparison.seconds = seconds
    if comparison.hr is not None:
        comparison.sr_scores = score(sr, comparison.hr, comparison.scale)
        comparison.diff = difference(sr, comparison.hr)
    return comparison


def display_rgb(image: Image) -> np.ndarray:
    """(H, W, 3) or (H, W, 4) uint8 for the screen (grey replicated, 16 bits rounded)."""
    rgb = as_rgb_uint8(image)
    if image.alpha is None:
        return rgb
    alpha = image.alpha
    if image.bit_depth == 16:
        alpha = np.round(alpha.astype(np.float64) / 257.0).astype(np.uint8)
    return np.ascontiguousarray(np.concatenate([rgb, alpha[:, :, None]], axis=2))


# -------------------------------------------------------------------------------- folders


@dataclass
class BatchItem:
    source: Path
    target: Path
    status: str  # "done", "skipped" (already there), "failed"
    message: str = ""
    seconds: float = 0.0


def batch_targets(sources: list[Path], out_dir: Path, *, scale: int, extension: str | None = None) -> list[Path]:
    """``<out>/<stem>_x<s><ext>``; ``extension`` None keeps the source's format when writable, else PNG."""
    if extension is not None and extension.lower() not in SUPPORTED_WRITE:
        raise NLSNError(f"cannot write {extension} files; use one of {', '.join(SUPPORTED_WRITE)}")
    targets = []
    for src in sources:
        ext = extension or (src.suffix.lower() if src.suffix.lower() in SUPPORTED_WRITE else ".png")
        targets.append(out_dir / f"{src.stem}_x{scale}{ext.lower()}")
    return targets


def folder_images(folder: Path) -> list[Path]:
    """The images of a folder (not recursive), sorted by name."""
    if not folder.is_dir():
        raise NLSNError(f"{folder}: no such folder")
    try:
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_READ)
    except OSError as err:
        raise NLSNError(f"{folder}: cannot be listed ({err.strerror or err})") from None
    if not images:
        raise NLSNError(f"{folder}: folder holds no images ({', '.join(SUPPORTED_READ)})")
    return images


def batch_upscale(
    sources: list[Path],
    out_dir: Path,
    *,
    upscale_fn: Callable[..., Image],
    scale: int,
    extension: str | None = None,
    skip_existing: bool = True,
    progress: Callable[[int, int, float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[BatchItem]:
    """Upscale every source into ``out_dir``; one bad file is reported, not fatal.

    ``upscale_fn(image, progress=..., cancel=...)`` does one image (e.g. ``Upscaler.upscale_image``
    with the seed bound). ``progress(index, total, fraction_of_this_image, name)``. Files whose
    target already exists are skipped when ``skip_existing`` (a re-run finishes an interrupted
    batch). Raises :class:`Cancelled` when ``cancel()`` becomes true; finished files stay.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NLSNError(f"{out_dir}: cannot create the output folder ({err.strerror or err})") from None
    if not os.access(out_dir, os.W_OK):
        raise NLSNError(f"{out_dir}: the output folder is not writable")
    targets = batch_targets(sources, out_dir, scale=scale, extension=extension)
    items: list[BatchItem] = []
    total = len(sources)
    for i, (src, dst) in enumerate(zip(sources, targets)):
        if cancel is not None and cancel():
            raise Cancelled()
        if skip_existing and dst.exists():
            items.append(BatchItem(src, dst, "skipped", "already done"))
            continue
        if progress is not None:
            progress(i, total, 0.0, src.name)
        start = time.perf_counter()
        try:
            image = load_image(src)
            result = upscale_fn(
                image,
                progress=(lambda f, _detail, i=i, name=src.name: progress(i, total, f, name)) if progress else None,
                cancel=cancel,
            )
            save_image(dst, result)
        except Cancelled:
            raise
        except NLSNError as err:
            items.append(BatchItem(src, dst, "failed", str(err)))
            continue
        items.append(BatchItem(src, dst, "done", seconds=time.perf_counter() - start))
    if progress is not None:
        progress(total, total, 1.0, "")
    return items
