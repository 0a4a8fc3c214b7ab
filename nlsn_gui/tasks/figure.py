"""The paper figure of the compare view's panels: built and written on the worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.eval.figure import FigurePanel, Region, make_figure
from core.image import Image, save_image

MAX_MAGNIFY = 8


def export_figure(panels: list[tuple[str, np.ndarray, str, int]], region: tuple[int, int, int, int], path: Path,
                  *, magnify: int, overview: tuple[str, np.ndarray, int] | None):
    """``panels``: (label, pixels, scores, scale) in order; ``region``: (x, y, w, h) in output pixels."""
    def run(ctx) -> Path:
        ctx.progress(0.2, "cropping")
        figure = make_figure(
            [FigurePanel(label, px, scores, scale) for label, px, scores, scale in panels],
            Region(*region), magnify=min(MAX_MAGNIFY, magnify),
            overview=FigurePanel(overview[0], overview[1], scale=overview[2]) if overview else None)
        ctx.check()
        save_image(path, Image(figure))
        return path

    return run
