"""The SR evaluation protocol on a benchmark folder: bicubic or a model, PSNR/SSIM on Y.

Used by ``nlsn eval``, by validation during training and by the GUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.eval.benchmark_sets import find_pairs
from core.image import Image, as_rgb_uint8, image_tensor, load_image, quantise
from core.image.resize import downscale, modcrop, upscale
from core.inference import Upscaler
from core.metrics import psnr, ssim


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float
    lr: np.ndarray | None = None  # (h, w, 3) uint8, kept when asked for (previews)
    sr: np.ndarray | None = None  # (sh, sw, 3) uint8
    hr: np.ndarray | None = None  # (sh, sw, 3) uint8


def super_resolve(lr: np.ndarray, *, scale: int, upscaler: Upscaler | None, seed: int = 0, ensemble: bool = False) -> np.ndarray:
    """(h, w, 3) uint8 -> (sh, sw, 3) uint8 by MATLAB bicubic (upscaler None) or the model."""
    if upscaler is None:
        return upscale(lr, scale)
    out = upscaler.upscale_tensor(image_tensor(Image(lr)), seed=seed, ensemble=ensemble)  # (1, 3, sh, sw)
    return quantise(out[0].permute(1, 2, 0).numpy(), max_value=255)


def evaluate(
    data: Path,
    *,
    scale: int,
    upscaler: Upscaler | None = None,
    seed: int = 0,
    ensemble: bool = False,
    keep_images: int = 0,
    on_image: Callable[[int, int, str], None] | None = None,
) -> list[ImageScore]:
    """PSNR/SSIM (Y channel, border = scale) per image of a benchmark folder.

    HR is cropped to a multiple of the scale; LR is the set's own when it has one, else made with
    the MATLAB-exact bicubic. ``keep_images``: the first N results keep their LR/SR/HR arrays.
    """
    scores = []
    pairs = find_pairs(Path(data), scale)
    for i, pair in enumerate(pairs, start=1):
        hr = modcrop(as_rgb_uint8(load_image(pair.hr)), scale)
        lr = as_rgb_uint8(load_image(pair.lr)) if pair.lr is not None else downscale(hr, scale)
        sr = super_resolve(lr, scale=scale, upscaler=upscaler, seed=seed, ensemble=ensemble)
        h, w = min(sr.shape[0], hr.shape[0]), min(sr.shape[1], hr.shape[1])
        sr, hr = sr[:h, :w], hr[:h, :w]
        score = ImageScore(pair.name, psnr(sr, hr, border=scale), ssim(sr, hr, border=scale))
        if i <= keep_images:
            score.lr, score.sr, score.hr = lr, sr, hr
        scores.append(score)
        if on_image is not None:
            on_image(i, len(pairs), pair.name)
    return scores
