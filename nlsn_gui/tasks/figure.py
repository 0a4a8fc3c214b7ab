"""The paper figure of the compare view's panels: built and written on the worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.eval.figure import FigurePanel, Region, make_figure
from core.image import Image, save_image
from core.inspection.colours import inferno_table

MAX_MAGNIFY = 8


def _figure_pixels(pixels: np.ndarray) -> np.ndarray:
    """RGB uint8 of a panel: a difference map (float) on the inferno scale of its own range."""
    if pixels.dtype != np.uint8:
        top = float(pixels.max()) or 1.0
        levels = np.clip(pixels / top * 255.0, 0, 255).astype(np.uint8)
        return inferno_table()[levels]
    return pixels[:, :, :3] if pixels.ndim == 3 else pixels


def export_figure(panels: list[tuple[str, np.ndarray, str, int]], region: tuple[int, int, int, int], path: Path,
                  *, magnify: int, overview: tuple[str, np.ndarray, int] | None):
    """``panels``: (label, pixels, scores, scale) in order; ``region``: (x, y, w, h) in output pixels."""
    def run(ctx) -> Path:
        ctx.progress(0.2, "cropping")
        figure = make_figure(
            [FigurePanel(label, _figure_pixels(px), scores, scale) for label, px, scores, scale in panels],
            Region(*region), magnify=min(MAX_MAGNIFY, magnify),
            overview=FigurePanel(overview[0], _figure_pixels(overview[1]), scale=overview[2]) if overview else None)
        ctx.check()
        save_image(path, Image(figure))
        return path

    return run
