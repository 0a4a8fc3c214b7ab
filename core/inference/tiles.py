"""Overlapping tiles, for images whose forward would not fit the memory budget in one pass.

Cutting an image into tiles cuts the (global) attention too, so tiles are the fallback only; they
overlap and are blended with linear ramps so no seam shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

DEFAULT_OVERLAP = 16  # LR pixels shared by neighbouring tiles (blended)
MIN_TILE = 48


@dataclass(frozen=True)
class Tile:
    """An LR window [y0, y1) x [x0, x1)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def area(self) -> int:
        return (self.y1 - self.y0) * (self.x1 - self.x0)


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if tile >= size:
        return [0]
    step = tile - overlap
    count = math.ceil((size - tile) / step) + 1
    # Spread the tiles evenly so the last one ends exactly at the border.
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def plan_tiles(height: int, width: int, *, max_positions: int, overlap: int = DEFAULT_OVERLAP) -> list[Tile]:
    """Square-ish tiles of at most ``max_positions`` LR pixels covering the image, overlapping."""
    if height * width <= max_positions:
        return [Tile(0, height, 0, width)]
    side = max(MIN_TILE, int(math.sqrt(max_positions)))
    th, tw = min(side, height), min(side, width)
    # A thin image may use the spare positions along its long side.
    if th < side:
        tw = min(width, max(MIN_TILE, max_positions // th))
    if tw < side:
        th = min(height, max(MIN_TILE, max_positions // tw))
    ov_y, ov_x = min(overlap, th // 2), min(overlap, tw // 2)
    return [
        Tile(y, y + th, x, x + tw)
        for y in _starts(height, th, ov_y)
        for x in _starts(width, tw, ov_x)
    ]


def _ramp(length: int, *, ramp_before: int, ramp_after: int) -> torch.Tensor:
    """1 inside, rising linearly over ``ramp_before`` and falling over ``ramp_after`` samples."""
    w = torch.ones(length)
    if ramp_before:
        w[:ramp_before] = (torch.arange(ramp_before) + 0.5) / ramp_before
    if ramp_after:
        w[length - ramp_after :] = torch.minimum(
            w[length - ramp_after :], ((torch.arange(ramp_after).flip(0)) + 0.5) / ramp_after
        )
    return w


def blend_weight(tile: Tile, tiles: list[Tile], scale: int) -> torch.Tensor:
    """(sh, sw) weight: ramps only where this tile overlaps a neighbour, 1 elsewhere."""
    before_y = max((t.y1 - tile.y0 for t in tiles if t.y1 > tile.y0 and t.y0 < tile.y0), default=0)
    after_y = max((tile.y1 - t.y0 for t in tiles if t.y0 < tile.y1 and t.y1 > tile.y1), default=0)
    before_x = max((t.x1 - tile.x0 for t in tiles if t.x1 > tile.x0 and t.x0 < tile.x0), default=0)
    after_x = max((tile.x1 - t.x0 for t in tiles if t.x0 < tile.x1 and t.x1 > tile.x1), default=0)
    wy = _ramp((tile.y1 - tile.y0) * scale, ramp_before=before_y * scale, ramp_after=after_y * scale)
    wx = _ramp((tile.x1 - tile.x0) * scale, ramp_before=before_x * scale, ramp_after=after_x * scale)
    return wy[:, None] * wx[None, :]


def transposed(tiles: list[Tile]) -> list[Tile]:
    """Tiles of a transposed image."""
    return [Tile(t.x0, t.x1, t.y0, t.y1) for t in tiles]
