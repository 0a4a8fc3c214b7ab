"""Colours for display: the bucket palette, attention heatmaps on the inferno scale, masks, backdrops."""

from __future__ import annotations

import numpy as np

from core.image.colour_map import inferno_table


_INFERNO = inferno_table()


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV (all in [0, 1]) to (n, 3) float RGB in [0, 1]."""
    i = np.floor(h * 6.0).astype(np.int64) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = np.zeros((h.size, 3))
    for k, (r, g, b) in enumerate(choices):
        sel = i == k
        rgb[sel] = np.stack([r[sel], g[sel], b[sel]], axis=1)
    return rgb


GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0  # 0.618...: hue step between consecutive buckets


_LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601 weights of R, G, B
_PALETTE_LIGHTNESS = np.array([0.74, 0.40, 0.57])  # luma of ids 0, 1, 2 (mod 3)


def bucket_palette(m: int) -> np.ndarray:
    """(m, 3) uint8 categorical colours for bucket ids 0..m-1.

    The hue advances by the golden ratio of a turn per id (about 222 degrees, so consecutive ids
    land far apart on the colour wheel and no two ids share a hue), and the lightness (luma) cycles
    through three levels, so neighbouring buckets differ in lightness too, whatever their hues:
    a saturated hue is darkened, or mixed with white, to reach its level exactly.
    """
    m = max(int(m), 0)
    ids = np.arange(m, dtype=np.float64)
    hue = (0.08 + ids * GOLDEN) % 1.0
    pure = _hsv_to_rgb(hue, np.full(m, 0.9), np.ones(m))  # (m, 3) in [0, 1]
    luma = pure @ _LUMA  # (m,)
    target = _PALETTE_LIGHTNESS[np.arange(m) % 3]
    darker = pure * (target / luma)[:, None]
    lighter = pure + (1.0 - pure) * ((target - luma) / (1.0 - luma))[:, None]
    rgb = np.where((target <= luma)[:, None], darker, lighter)
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8).reshape(m, 3)


def colourise_buckets(buckets: np.ndarray, m: int, alpha: int = 255) -> np.ndarray:
    """(H, W, 4) uint8: each pixel in the :func:`bucket_palette` colour of its bucket (0..m-1)."""
    buckets = np.asarray(buckets)
    m = max(int(m), 1)
    if buckets.size and (buckets.min() < 0 or buckets.max() >= m):
        raise ValueError(f"bucket ids must lie in 0..{m - 1}")
    out = np.empty((*buckets.shape, 4), dtype=np.uint8)
    out[..., :3] = bucket_palette(m)[buckets]
    out[..., 3] = int(alpha)
    return out


def normalise_weights(
    weights: np.ndarray, *, vmax: float | None = None, scale: str = "log", gamma: float = 0.5, decades: float = 3.0
) -> np.ndarray:
    """(H, W) float in [0, 1]: attention weights mapped for display, relative to ``vmax``
    (default: their maximum). ``scale``: "linear" (w / vmax), "gamma" ((w / vmax) ** gamma) or
    "log" (``decades`` powers of ten below vmax up to vmax: 0 at vmax * 10**-decades)."""
    w = np.asarray(weights, dtype=np.float64)
    top = float(w.max()) if vmax is None and w.size else float(vmax or 0.0)
    if not top > 0:
        return np.zeros(w.shape)
    rel = np.clip(w / top, 0.0, 1.0)
    if scale == "linear":
        return rel
    if scale == "gamma":
        return rel**gamma
    if scale == "log":
        with np.errstate(divide="ignore"):
            out = 1.0 + np.log10(rel) / float(decades)
        return np.clip(np.where(rel > 0, out, 0.0), 0.0, 1.0)
    raise ValueError(f"unknown scale {scale!r}: choose linear, gamma or log")


def heatmap_rgba(
    weights: np.ndarray,
    *,
    vmax: float | None = None,
    scale: str = "log",
    gamma: float = 0.5,
    decades: float = 3.0,
    alpha: int = 255,
    fade: float = 0.15,
) -> np.ndarray:
    """(H, W, 4) uint8: attention weights in the inferno colour map (see :func:`normalise_weights`).

    Opacity rises from 0 at weight 0 to ``alpha`` at ``fade`` of the display range, so pixels
    with (almost) no weight stay transparent and the image shows through; ``fade`` 0: opaque.
    """
    v = normalise_weights(weights, vmax=vmax, scale=scale, gamma=gamma, decades=decades)
    out = np.empty((*v.shape, 4), dtype=np.uint8)
    out[..., :3] = _INFERNO[np.round(v * 255.0).astype(np.int64)]
    opacity = np.ones_like(v) if fade <= 0 else np.clip(v / fade, 0.0, 1.0)
    opacity[v <= 0] = 0.0 if fade > 0 else 1.0
    out[..., 3] = np.round(opacity * int(alpha)).astype(np.uint8)
    return out


def log_colour_bar(*, vmax: float = 1.0, decades: float = 3.0, width: int = 256) -> np.ndarray:
    """(1, width, 4) uint8 opaque colour bar of :func:`heatmap_rgba`'s log scale: from
    ``vmax * 10**-decades`` (left) to ``vmax`` (right), for a legend."""
    ramp = vmax * 10.0 ** np.linspace(-float(decades), 0.0, width)[None, :]  # (1, width)
    return heatmap_rgba(ramp, vmax=vmax, scale="log", decades=decades, fade=0.0)


def mask_rgba(mask: np.ndarray, colour: tuple[int, int, int], alpha: int = 255) -> np.ndarray:
    """(H, W, 4) uint8: ``colour`` where ``mask`` is true, transparent elsewhere."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros((*mask.shape, 4), dtype=np.uint8)
    out[mask, :3] = np.asarray(colour, dtype=np.uint8)
    out[mask, 3] = int(alpha)
    return out


def dimmed_grey(rgb: np.ndarray, *, level: float = 0.45) -> np.ndarray:
    """(H, W, 3) uint8: the image as grey (Rec. 601 luma) scaled by ``level``, a quiet backdrop
    for heatmaps and masks. Accepts (H, W), (H, W, 3) or (H, W, 4) uint8."""
    a = np.asarray(rgb, dtype=np.float64)
    luma = a if a.ndim == 2 else a[..., :3] @ np.array([0.299, 0.587, 0.114])
    grey = np.round(np.clip(luma * float(level), 0, 255)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def composite(base_rgb: np.ndarray, overlay_rgba: np.ndarray | None, *, opacity: float = 1.0,
              mark: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 3) uint8: ``overlay_rgba`` (H, W, 4) over ``base_rgb`` at ``opacity`` times its own
    alpha, as the inspector shows it, and the query pixel ``mark`` = (y, x) drawn as a cyan
    cross-hair of one-pixel lines (at the image's own resolution: what a figure wants)."""
    out = base_rgb[..., :3].astype(np.float32)
    if overlay_rgba is not None:
        if overlay_rgba.shape[:2] != base_rgb.shape[:2]:
            raise ValueError(f"overlay {overlay_rgba.shape[:2]} does not match the image {base_rgb.shape[:2]}")
        alpha = overlay_rgba[..., 3:4].astype(np.float32) / 255.0 * float(np.clip(opacity, 0.0, 1.0))
        out = out * (1.0 - alpha) + overlay_rgba[..., :3].astype(np.float32) * alpha
    out = np.round(out).astype(np.uint8)
    if mark is not None:
        y, x = mark
        h, w = out.shape[:2]
        gap = 2  # the pixel itself stays visible
        for dy in range(-6, 7):
            if abs(dy) > gap and 0 <= y + dy < h:
                out[y + dy, x] = (0, 255, 255)
        for dx in range(-6, 7):
            if abs(dx) > gap and 0 <= x + dx < w:
                out[y, x + dx] = (0, 255, 255)
    return out


def outline(rgb: np.ndarray, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int] = (0, 255, 255)) -> np.ndarray:
    """A copy of (H, W, 3) uint8 ``rgb`` with the one-pixel outline of the half-open box
    [x0, x1) x [y0, y1), clipped to the image (e.g. a LAM's box in LR pixels)."""
    out = rgb.copy()
    h, w = out.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return out
    c = np.asarray(colour, dtype=np.uint8)
    out[y0, x0:x1] = c
    out[y1 - 1, x0:x1] = c
    out[y0:y1, x0] = c
    out[y0:y1, x1 - 1] = c
    return out
