"""Synthetic images for checks: smooth, natural-looking pictures made in code, and folders of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage


def smooth_image(h: int, w: int, *, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A natural-looking (H, W, C) uint8 test image: smooth gradients, a disc and some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, channels))
    for c in range(channels):
        fy, fx, ph = rng.uniform(0.02, 0.15, size=3)
        img[..., c] = 0.5 + 0.3 * np.sin(fy * yy + ph * 6) * np.cos(fx * xx)
    disc = (yy - h / 2) ** 2 + (xx - w / 3) ** 2 < (min(h, w) / 4) ** 2
    img[disc] = img[disc] * 0.4 + 0.5
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def training_folders(root, *, n_train: int = 4, train_size=(40, 44), n_val: int = 2, val_size=(24, 28)):
    """(train, val) folders of PNG images made in code, for training runs in tests and benchmarks."""
    train, val = Path(root) / "train", Path(root) / "val"
    train.mkdir(parents=True)
    val.mkdir()
    for i in range(n_train):
        PILImage.fromarray(smooth_image(*train_size, seed=i)).save(train / f"t{i}.png")
    for i in range(n_val):
        PILImage.fromarray(smooth_image(*val_size, seed=10 + i)).save(val / f"v{i}.png")
    return train, val
