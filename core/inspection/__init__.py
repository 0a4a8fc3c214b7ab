"""Inspection of the Non-Local Sparse Attention: what each NLSA module of one forward computed.

``capture`` records a forward; ``buckets`` shows its hashing as maps; ``query`` explains one query
pixel at a time by the steps of the reference; ``overview`` sums every query of every module and
round up; ``colours`` turns it all into pixels for display. Beside them, for any model:
``attribution`` (LAM: which LR pixels an output box depends on) and ``stats`` (what it costs).

Shapes: L = H * W positions of the LR feature map, C match channels, Cy assembly channels,
R hash rounds, m buckets, k chunk size, K chunks per round.
"""

from core.inspection.buckets import (
    BucketChange,
    BucketSizeSummary,
    bucket_changes,
    bucket_map,
    bucket_size_summary,
    bucket_sizes,
    chunk_map,
    log_axis,
    log_axis_ticks,
)
from core.inspection.capture import Inspection, ModuleCapture, inspect, inspect_image
from core.inspection.colours import (
    bucket_palette,
    colourise_buckets,
    inferno_table,
    dimmed_grey,
    log_colour_bar,
    heatmap_rgba,
    mask_rgba,
    normalise_weights,
)
from core.inspection.query import (
    DEFAULT_LOCAL_RADIUS,
    AttentionStats,
    QueryAttention,
    RoundRow,
    attention_stats,
    dense_attention,
    dense_coverage,
    local_window,
    query_attention,
    round_rows,
)

__all__ = [
    "DEFAULT_LOCAL_RADIUS",
    "AttentionStats",
    "BucketChange",
    "BucketSizeSummary",
    "Inspection",
    "ModuleCapture",
    "QueryAttention",
    "RoundRow",
    "attention_stats",
    "bucket_changes",
    "bucket_map",
    "bucket_palette",
    "bucket_size_summary",
    "bucket_sizes",
    "chunk_map",
    "colourise_buckets",
    "inferno_table",
    "dense_attention",
    "dense_coverage",
    "dimmed_grey",
    "heatmap_rgba",
    "inspect",
    "inspect_image",
    "local_window",
    "log_colour_bar",
    "log_axis",
    "log_axis_ticks",
    "mask_rgba",
    "normalise_weights",
    "query_attention",
    "round_rows",
]
