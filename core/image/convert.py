"""Conversions of an :class:`~core.image.image.Image` for the network, the metrics and the screen."""

from __future__ import annotations

import numpy as np
import torch

from core.image.image import Image, to_8bit


def image_tensor(image: Image) -> torch.Tensor:
    """The (1, 3, H, W) float32 tensor on [0, 1] the network takes: grey replicated, alpha dropped."""
    return torch.from_numpy(image.to_float_rgb()).permute(2, 0, 1).unsqueeze(0).contiguous()


def as_rgb_uint8(image: Image) -> np.ndarray:
    """(H, W, 3) uint8: the evaluation protocol works on 8-bit RGB (grey replicated, 16 bits rounded)."""
    pixels = to_8bit(image.pixels) if image.bit_depth == 16 else image.pixels
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels)


def display_rgb(image: Image) -> np.ndarray:
    """(H, W, 3) or (H, W, 4) uint8 for the screen (grey replicated, 16 bits rounded)."""
    rgb = as_rgb_uint8(image)
    if image.alpha is None:
        return rgb
    alpha = to_8bit(image.alpha) if image.bit_depth == 16 else image.alpha
    return np.ascontiguousarray(np.concatenate([rgb, alpha[:, :, None]], axis=2))
