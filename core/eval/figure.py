"""The figure of every SR paper: one region cropped from each method's result, side by side at native
resolution (optionally magnified by a whole number, nearest neighbour, so pixels stay pixels), with
each method's name and scores under its crop, and the whole image with the region marked first."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from core.base.errors import NLSNError
from core.image.colour_map import colourise

GAP = 8  # pixels between crops, and around the figure
BOX_COLOUR = (230, 32, 32)
MAX_FIGURE_PIXELS = 120_000_000  # beyond this a "figure" is a mistake (a huge region magnified)


@dataclass
class FigurePanel:
    """One method's result in output coordinates: (H, W, 3) uint8 (or an (H, W) float error map), or
    the LR with its ``scale``."""

    label: str
    pixels: np.ndarray
    scores: str = ""
    scale: int = 1  # an LR panel: its pixels are shown ``scale`` times larger (nearest), as in the app


@dataclass(frozen=True)
class Region:
    """[x, x + w) x [y, y + h) in output pixels."""

    x: int
    y: int
    w: int
    h: int

    def clipped(self, width: int, height: int) -> "Region":
        x0, y0 = max(0, min(self.x, width - 1)), max(0, min(self.y, height - 1))
        x1, y1 = max(x0 + 1, min(self.x + self.w, width)), max(y0 + 1, min(self.y + self.h, height))
        return Region(x0, y0, x1 - x0, y1 - y0)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """RGB uint8 of a panel's pixels; a float map (an error map) on the inferno scale."""
    if pixels.dtype != np.uint8:
        return colourise(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3])


def crop(panel: FigurePanel, region: Region) -> np.ndarray:
    """(h, w, 3) uint8: the region of a panel, in output pixels (an LR panel's nearest pixels)."""
    rgb = _rgb(panel.pixels)
    if panel.scale == 1:
        return rgb[region.y : region.y + region.h, region.x : region.x + region.w]
    ys = np.arange(region.y, region.y + region.h) // panel.scale
    xs = np.arange(region.x, region.x + region.w) // panel.scale
    return rgb[np.clip(ys, 0, rgb.shape[0] - 1)][:, np.clip(xs, 0, rgb.shape[1] - 1)]


def auto_magnify(region: Region, *, min_side: int = 200) -> int:
    """The whole-number magnification that makes the region's shorter side at least ``min_side``."""
    return max(1, math.ceil(min_side / max(1, min(region.w, region.h))))


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _overview(panel: FigurePanel, region: Region, height: int) -> np.ndarray:
    """The whole image at ``height`` pixels with the region outlined."""
    full = _rgb(panel.pixels)
    if panel.scale > 1:
        full = np.repeat(np.repeat(full, panel.scale, axis=0), panel.scale, axis=1)
    factor = height / full.shape[0]
    width = max(1, round(full.shape[1] * factor))
    image = PILImage.fromarray(full).resize((width, height), PILImage.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    x0, y0 = region.x * factor, region.y * factor
    x1, y1 = (region.x + region.w) * factor - 1, (region.y + region.h) * factor - 1
    draw.rectangle([x0, y0, max(x0, x1), max(y0, y1)], outline=BOX_COLOUR, width=max(2, height // 120))
    return np.asarray(image)


def make_figure(panels: list[FigurePanel], region: Region, *, magnify: int = 1,
                overview: FigurePanel | None = None, font_size: int = 16) -> np.ndarray:
    """(H, W, 3) uint8: ``overview`` (the whole image, the region outlined) then each panel's crop of
    ``region`` magnified ``magnify`` times, its label and scores below, on white."""
    if not panels:
        raise NLSNError("a figure needs at least one panel")
    width = max(p.pixels.shape[1] * p.scale for p in panels)
    height = max(p.pixels.shape[0] * p.scale for p in panels)
    region = region.clipped(width, height)
    magnify = max(1, int(magnify))
    crops = [crop(p, region) for p in panels]
    crops = [np.repeat(np.repeat(c, magnify, axis=0), magnify, axis=1) for c in crops]
    ch, cw = crops[0].shape[:2]
    tiles = ([_overview(overview, region, ch)] if overview is not None else []) + crops
    labels = ([(overview.label, "")] if overview is not None else []) + [(p.label, p.scores) for p in panels]
    font, small = _font(font_size), _font(max(8, round(font_size * 0.8)))
    lines = 2 if any(scores for _, scores in labels) else 1
    text_h = lines * (font_size + 6) + 4
    total_w = GAP + sum(t.shape[1] + GAP for t in tiles)
    total_h = GAP + ch + text_h + GAP
    if total_w * total_h > MAX_FIGURE_PIXELS:
        raise NLSNError(f"the figure would be {total_w}x{total_h} pixels: choose a smaller region or magnification")
    canvas = PILImage.new("RGB", (total_w, total_h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = GAP
    for tile, (label, scores) in zip(tiles, labels):
        canvas.paste(PILImage.fromarray(np.ascontiguousarray(tile)), (x, GAP))
        centre = x + tile.shape[1] / 2
        draw.text((centre, GAP + ch + 4), _fit(draw, label, font, tile.shape[1]), fill=(0, 0, 0), font=font,
                  anchor="ma")
        if scores:
            draw.text((centre, GAP + ch + 4 + font_size + 6), _fit(draw, scores, small, tile.shape[1]),
                      fill=(60, 60, 60), font=small, anchor="ma")
        x += tile.shape[1] + GAP
    return np.asarray(canvas)


# Pillow's built-in font has no multiplication or minus sign: their ASCII look-alikes.
_PLAIN = str.maketrans({"×": "x", "−": "-", "…": "..."})


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text`` in the font's characters, shortened with an ellipsis to ``width`` pixels."""
    text = text.translate(_PLAIN)
    if draw.textlength(text, font=font) <= width or len(text) <= 1:
        return text
    while len(text) > 1 and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."
