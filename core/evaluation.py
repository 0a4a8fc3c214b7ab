"""The SR evaluation protocol on a benchmark folder: bicubic or a model, PSNR/SSIM on Y.

Used by ``nlsn eval``, by validation during training and by the GUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core.benchmark_sets import find_pairs
from core.imageio import Image, load_image
from core.inference import Upscaler, quantize
from core.metrics import psnr, ssim
from core.resize import downscale, modcrop, upscale


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float
    lr: np.ndarray | None = None  # (h, w, 3) uint8, kept when asked for (previews)
    sr: np.ndarray | None = None  # (sh, sw, 3) uint8
    hr: np.ndarray | None = None  # (sh, sw, 3) uint8


def as_rgb_uint8(image: Image) -> np.ndarray:
    """(H, W, 3) uint8: the evaluation protocol works on 8-bit RGB (grey replicated)."""
    pixels = image.pixels
    if image.bit_depth == 16:
        pixels = np.round(pixels.astype(np.float64) / 257.0).astype(np.uint8)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels)


def super_resolve(lr: np.ndarray, *, scale: int, upscaler: Upscaler | None, seed: int = 0, ensemble: bool = False) -> np.ndarray:
    """(h, w, 3) uint8 -> (sh, sw, 3) uint8 by MATLAB bicubic (upscaler None) or the model."""
    if upscaler is None:
        return upscale(lr, scale)
    x = torch.from_numpy(lr).permute(2, 0, 1).unsqueeze(0).float() / 255.0  # (1, 3, h, w)
    out = upscaler.upscale_tensor(x.contiguous(), seed=seed, ensemble=ensemble)
    return quantize(out[0].permute(1, 2, 0), max_value=255)


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
