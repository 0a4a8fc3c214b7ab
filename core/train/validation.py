"""Validation during training: the benchmark protocol on the validation folder, and the preview
crops (LR | SR | HR) that show what the scores mean."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core.eval.protocol import evaluate
from core.image import Image, save_image
from core.inference import Upscaler
from core.network import NLSN

PREVIEW_SIZE = 48  # LR pixels of each preview crop


@dataclass
class Validation:
    psnr: float  # mean over the folder, dB
    ssim: float
    strips: list[np.ndarray]  # each (h, 3w, 3) uint8: LR (nearest) | SR | HR
    preview: Path | None  # the strips as one PNG, when any were kept


def validate(model: NLSN, *, device: torch.device, folder: Path, scale: int, previews: int,
             preview_path: Path) -> Validation:
    """Score ``model`` (left in train mode) and write the first ``previews`` images' crops to ``preview_path``."""
    model.eval()
    try:
        upscaler = Upscaler(model, device=device, half=False)
        scores = evaluate(folder, scale=scale, upscaler=upscaler, keep_images=previews)
    finally:
        # Back to training: the Upscaler laid the weights out channels-last, which trains slower.
        model.to(memory_format=torch.contiguous_format).train()
    strips = [preview_strip(s.lr, s.sr, s.hr, scale=scale) for s in scores if s.sr is not None]
    stacked = stack_previews(strips)
    if stacked is not None:
        preview_path.parent.mkdir(parents=True, exist_ok=True)
        save_image(preview_path, Image(stacked))
    return Validation(psnr=float(np.mean([s.psnr for s in scores])), ssim=float(np.mean([s.ssim for s in scores])),
                      strips=strips, preview=preview_path if stacked is not None else None)


def preview_strip(lr: np.ndarray, sr: np.ndarray, hr: np.ndarray, *, scale: int, size: int = PREVIEW_SIZE) -> np.ndarray:
    """A fixed centre crop of ``size`` LR pixels: LR (nearest) | SR | HR, (s*size, 3*s*size, 3)."""
    h, w = lr.shape[:2]
    size = min(size, h, w)
    y, x = (h - size) // 2, (w - size) // 2
    lr_crop = lr[y : y + size, x : x + size].repeat(scale, axis=0).repeat(scale, axis=1)
    ys, xs, ss = y * scale, x * scale, size * scale
    return np.concatenate([lr_crop, sr[ys : ys + ss, xs : xs + ss], hr[ys : ys + ss, xs : xs + ss]], axis=1)


def stack_previews(strips: Sequence[np.ndarray]) -> np.ndarray | None:
    """Preview strips one under the other (2 black rows between), exactly as saved in ``previews/``."""
    if not strips:
        return None
    width = max(s.shape[1] for s in strips)
    padded = [np.pad(s, ((0, 2), (0, width - s.shape[1]), (0, 0))) for s in strips]
    return np.ascontiguousarray(np.concatenate(padded, axis=0))
