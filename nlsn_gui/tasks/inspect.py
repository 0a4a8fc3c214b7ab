"""The inspector's worker jobs: one captured forward, and the numbers and colours of one view of it.

Every number and every colour comes from ``core.inspection``; the panel only places the ready
arrays and texts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.base.errors import NLSNError
from core.image import Image, display_rgb
from core.inspection import (
    DEFAULT_LOCAL_RADIUS,
    AttentionStats,
    BucketChange,
    BucketSizeSummary,
    Inspection,
    QueryAttention,
    RoundRow,
    attention_stats,
    bucket_changes,
    bucket_map,
    bucket_palette,
    bucket_size_summary,
    bucket_sizes,
    colourise_buckets,
    dense_attention,
    dense_coverage,
    dimmed_grey,
    heatmap_rgba,
    inspect_image,
    local_window,
    log_axis,
    log_axis_ticks,
    log_colour_bar,
    mask_rgba,
    query_attention,
    round_rows,
)

SHARED_COLOUR = (240, 40, 220)  # magenta: pixels in the query's bucket
ATTENDED_COLOUR = (255, 190, 20)  # amber: the query's candidate keys
# Every attention map of a query: one shared log scale; opacity follows the scale, so weak weights
# let the image show through.
HEAT_SCALE = {"scale": "log", "decades": 3.0, "fade": 1.0}


@dataclass
class Inspected:
    """Result of the inspect job: the captured forward and what the panel needs to show it."""

    inspection: Inspection
    backdrop: np.ndarray  # (H, W, 3) uint8 dimmed grey LR for the heatmap views
    model_path: str
    model_name: str
    device: str
    seconds: float
    generation: int  # the panel's document generation when the job was submitted


@dataclass
class QueryView:
    """Everything shown about one query pixel of one module (and round)."""

    y: int
    x: int
    q: QueryAttention
    dense: np.ndarray  # (H, W) float64
    rows: list[RoundRow]
    sparse_stats: AttentionStats
    dense_stats: AttentionStats
    coverage: float  # share of the dense weight on keys the sparse attention attended
    window: tuple[int, int, int, int]  # local window (y0, y1, x0, x1), half-open
    vmax: float  # top of the shared heat scale
    overlays: dict[str, np.ndarray]  # shared, attended, round, combined, dense -> (H, W, 4) uint8
    legend: np.ndarray  # (1, 256, 4) uint8 colour bar of the heat scale


@dataclass
class ModuleView:
    """One module and round of an inspection: its bucket map, and optionally a query."""

    module: int
    round: int
    buckets: int  # m (at least 1: the dense fallback has one bucket)
    chunk: int
    bucket_map: np.ndarray  # (H, W) int
    bucket_rgba: np.ndarray  # (H, W, 4) uint8
    palette: np.ndarray  # (m, 3) uint8
    sizes: np.ndarray  # (m,) int
    bar_heights: np.ndarray | None = None  # (m,) sizes on the legend's log axis
    bar_ticks: list | None = None  # [(position, label)] of that axis
    chunk_height: float = 0.0  # the chunk size on that axis
    size_summary: BucketSizeSummary | None = None
    change: BucketChange | None = None  # against the previous seed, when there is one
    change_seeds: tuple[int, int] | None = None
    query: QueryView | None = None
    request: int = 0  # the panel's request number


def inspect_job(image: Image, *, model: str, scale: int, device: str, seed: int, generation: int):
    def run(ctx) -> Inspected:
        ctx.progress(0.0, "loading the model")
        loaded, upscaler = ctx.models.upscaler(model, scale=scale, device=device)
        if not loaded.is_nlsn:
            raise NLSNError(f"{loaded.name} ({loaded.architecture}) has no sparse attention, so there are no hash "
                            "buckets or attention maps to show; choose an NLSN model to inspect")
        ctx.check()
        start = time.perf_counter()
        inspection = inspect_image(loaded.model, image, seed=seed, device=upscaler.device,
                                   cancel=ctx.cancelled, progress=ctx.progress)
        backdrop = dimmed_grey(display_rgb(image))
        return Inspected(inspection, backdrop, str(model), loaded.name, str(upscaler.device).upper(),
                         time.perf_counter() - start, generation)

    return run


def view_job(inspection: Inspection, previous: Inspection | None, *, module: int, round_: int,
             query: tuple[int, int] | None, request: int):
    def run(ctx) -> ModuleView:
        cap = inspection.modules[module]
        m = max(cap.buckets.buckets, 1)
        bmap = bucket_map(cap, round_)
        view = ModuleView(module=module, round=round_, buckets=m, chunk=cap.chunk, bucket_map=bmap,
                          bucket_rgba=colourise_buckets(bmap, m), palette=bucket_palette(m),
                          sizes=bucket_sizes(cap, round_), request=request)
        view.size_summary = bucket_size_summary(view.sizes, cap.chunk)
        view.bar_heights = log_axis(view.sizes)
        view.bar_ticks = log_axis_ticks(max(int(view.sizes.max()), cap.chunk))
        view.chunk_height = float(log_axis(cap.chunk))
        if (previous is not None and previous.seed != inspection.seed and module < len(previous.modules)
                and previous.modules[module].length == cap.length and round_ < previous.modules[module].n_hashes):
            view.change = bucket_changes(bucket_map(previous.modules[module], round_), bmap)
            view.change_seeds = (previous.seed, inspection.seed)
        ctx.check()
        if query is not None:
            y, x = query
            q = query_attention(cap, y, x)
            ctx.check()
            dense = dense_attention(cap, y, x)
            vmax = max(float(q.round_weights.max()), float(dense.max()))
            heat = lambda w: heatmap_rgba(w, vmax=vmax, **HEAT_SCALE)  # noqa: E731
            overlays = {
                "shared": mask_rgba(q.same_bucket[round_], SHARED_COLOUR),
                "attended": mask_rgba(q.attended[round_], ATTENDED_COLOUR),
                "round": heat(q.round_weights[round_]),
                "combined": heat(q.combined),
                "dense": heat(dense),
            }
            view.query = QueryView(
                y=y, x=x, q=q, dense=dense, rows=round_rows(cap, q),
                sparse_stats=attention_stats(q.combined, y, x), dense_stats=attention_stats(dense, y, x),
                coverage=dense_coverage(q, dense),
                window=local_window(y, x, DEFAULT_LOCAL_RADIUS, cap.height, cap.width),
                vmax=vmax, overlays=overlays, legend=log_colour_bar(vmax=vmax, decades=HEAT_SCALE["decades"]),
            )
        return view

    return run
