"""What the app's compare view shows, without Qt: the LR input, bicubic, the scores, the error map.

Two modes (the GUI's and ``nlsn upscale``'s):

* ``upscale``: the opened image is the LR input; there is no ground truth.
* ``simulate``: the opened image is the HR truth; it is cropped to a multiple of the scale and
  downscaled with the MATLAB-exact bicubic (the benchmark protocol), then upscaled, so NLSN and
  bicubic can be scored against it (PSNR/SSIM on Y, ``scale`` border pixels cropped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.base.errors import NLSNError
from core.image import Image, as_rgb_uint8
from core.image.resize import downscale, modcrop, upscale
from core.metrics import psnr, ssim

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
    return Image(pixels=pixels, alpha=alpha, **image.metadata())


def simulate_lr(hr: Image, scale: int) -> tuple[Image, Image]:
    """(LR, cropped HR) of the benchmark protocol: modcrop, then MATLAB bicubic downscaling."""
    if min(hr.height, hr.width) < scale * MIN_SIMULATE_SIDE:
        raise NLSNError(
            f"{hr.width}x{hr.height} is too small to simulate x{scale}: "
            f"the HR image needs at least {scale * MIN_SIMULATE_SIDE} pixels per side"
        )
    alpha = modcrop(hr.alpha, scale) if hr.alpha is not None else None
    cropped = Image(pixels=modcrop(hr.pixels, scale), alpha=alpha, **hr.metadata())
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
    return pixel_difference(as_rgb_uint8(result), as_rgb_uint8(hr))


def pixel_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) float32 mean absolute RGB difference of two (H, W, 3 or 4) uint8 arrays (alpha
    ignored), e.g. two results on screen when there is no truth to score them against."""
    a, b = a[..., :3].astype(np.float32), b[..., :3].astype(np.float32)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return np.abs(a[:h, :w] - b[:h, :w]).mean(axis=2)


def changed_share(diff: np.ndarray, *, threshold: float = 1.0) -> float:
    """Share of the pixels of a difference map above ``threshold`` (0..255 scale)."""
    return float(np.mean(np.asarray(diff) > threshold)) if np.size(diff) else 0.0


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
