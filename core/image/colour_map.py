"""The inferno colour map, for the attention heatmaps, the error maps and the figures."""

from __future__ import annotations

import numpy as np

# Inferno (matplotlib's perceptual colour map, CC0), 33 evenly spaced entries; interpolated to 256.
_INFERNO_ANCHORS = np.array(
    [
        (0, 0, 4), (4, 3, 18), (11, 7, 36), (21, 11, 55), (33, 12, 74), (47, 10, 91), (61, 9, 101),
        (74, 12, 107), (87, 16, 110), (100, 21, 110), (113, 25, 110), (125, 30, 109), (138, 34, 106),
        (151, 39, 102), (163, 44, 97), (176, 49, 91), (188, 55, 84), (198, 61, 77), (208, 69, 69),
        (218, 78, 60), (227, 89, 51), (235, 100, 41), (241, 113, 31), (246, 126, 20), (249, 140, 10),
        (251, 155, 6), (252, 170, 15), (251, 186, 31), (249, 201, 50), (245, 217, 73), (242, 232, 101),
        (243, 245, 134), (252, 255, 164),
    ],
    dtype=np.float64,
)


def inferno_table(n: int = 256) -> np.ndarray:
    """(n, 3) uint8: the inferno colour map, dark (low) to light yellow (high)."""
    xs = np.linspace(0.0, 1.0, len(_INFERNO_ANCHORS))
    t = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(t, xs, _INFERNO_ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def colourise(values: np.ndarray) -> np.ndarray:
    """(H, W) float map -> (H, W, 3) uint8 on the inferno scale from 0 to its own maximum."""
    top = float(values.max()) if values.size else 0.0
    levels = np.clip(values / (top or 1.0) * 255.0, 0, 255).astype(np.uint8)
    return inferno_table()[levels]
