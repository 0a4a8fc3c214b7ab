"""The attention overview's worker job: the small multiples (modules x rounds) of one inspected
forward, bucket maps or a query's attention, and the statistics over every query pixel.

Every number and colour comes from ``core.inspection``; the dialog only places them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.inspection import Inspection, bucket_map, colourise_buckets, heatmap_rgba, query_attention
from core.inspection.overview import RoundStats, overview_stats
from nlsn_gui.tasks.inspect import HEAT_SCALE


@dataclass
class Overview:
    mode: str  # "buckets" or "query"
    tiles: list[list[np.ndarray]]  # [module][round (+ combined in query mode)] (H, W, 4) uint8
    row_titles: list[str]
    column_titles: list[str]
    stats: list[RoundStats]
    query: tuple[int, int] | None
    request: int


def overview_job(inspection: Inspection, *, query: tuple[int, int] | None, stats: list[RoundStats] | None,
                 request: int):
    """``stats``: those of this inspection already computed (None: compute them here)."""

    def run(ctx) -> Overview:
        mode = "query" if query is not None else "buckets"
        tiles: list[list[np.ndarray]] = []
        for i, cap in enumerate(inspection.modules):
            ctx.progress(i / (len(inspection.modules) + 1), f"module {i + 1}")
            if query is None:
                m = max(cap.buckets.buckets, 1)
                tiles.append([colourise_buckets(bucket_map(cap, r), m) for r in range(cap.n_hashes)])
            else:
                q = query_attention(cap, *query)
                top = float(q.round_weights.max())  # one scale per module: its rounds compare
                tiles.append([heatmap_rgba(w, vmax=top, **HEAT_SCALE) for w in (*q.round_weights, q.combined)])
            ctx.check()
        rounds = inspection.modules[0].n_hashes if inspection.modules else 0
        columns = [f"Round {r + 1}" for r in range(rounds)] + (["All rounds"] if query is not None else [])
        rows = [f"Module {cap.index + 1} (body {cap.body_position})" for cap in inspection.modules]
        computed = stats if stats is not None else overview_stats(inspection, check=ctx.check)
        return Overview(mode=mode, tiles=tiles, row_titles=rows, column_titles=columns, stats=computed, query=query,
                        request=request)

    return run
