"""``nlsn attention``: the sparse attention of a whole image at once: per module and hash round, the
buckets' balance, how far the attention reaches and its non-local share; as CSV and small multiples."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.base.errors import NLSNError
from core.base.fileio import atomic_write
from core.cli.models import model_and_lr
from core.image import Image, display_rgb, image_tensor, save_image
from core.inference.devices import select_device
from core.inspection import bucket_map, colourise_buckets, dimmed_grey, heatmap_rgba, inspect, query_attention
from core.inspection.colours import composite
from core.inspection.overview import ALL_ROUNDS, overview_stats, small_multiples, stats_csv

EXIT_OK = 0


def _query(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise NLSNError(f"--query must be X,Y in LR pixels, e.g. 40,32, not {text!r}")
    return int(parts[1]), int(parts[0])  # (y, x)


def grid(inspection, query: tuple[int, int] | None, backdrop):
    """Modules (rows) x rounds (columns) of bucket maps; with a query, its attention per round and
    combined over the dimmed LR ``backdrop``."""
    rows = []
    for cap in inspection.modules:
        if query is None:
            m = max(cap.buckets.buckets, 1)
            rows.append([colourise_buckets(bucket_map(cap, r), m) for r in range(cap.n_hashes)])
        else:
            q = query_attention(cap, *query)
            top = float(q.round_weights.max())
            heat = lambda weights: composite(backdrop, heatmap_rgba(weights, vmax=top, fade=1.0), mark=query)  # noqa: E731
            rows.append([heat(q.round_weights[r]) for r in range(cap.n_hashes)] + [heat(q.combined)])
    return small_multiples(rows)


def cmd_attention(args: argparse.Namespace) -> int:
    loaded, lr = model_and_lr(args)
    loaded.require_nlsn("the attention overview")
    query = _query(args.query)
    if query is not None and not (0 <= query[0] < lr.height and 0 <= query[1] < lr.width):
        raise NLSNError(f"--query {args.query} is outside the {lr.width}x{lr.height} LR image")
    inspection = inspect(loaded.model, image_tensor(lr), seed=args.seed, device=select_device(args.device))
    rows = overview_stats(inspection)
    if args.csv:
        atomic_write(Path(args.csv), stats_csv(rows).encode())
    if args.grid:
        if not inspection.modules:
            raise NLSNError(f"{loaded.name} has no sparse-attention module: there is nothing to draw")
        save_image(Path(args.grid), Image(grid(inspection, query, dimmed_grey(display_rgb(lr)))))
    if args.json:
        print(json.dumps({"model": loaded.name, "size": [lr.width, lr.height], "seed": args.seed,
                          "rows": [row.row() for row in rows]}))
        return EXIT_OK
    print(f"{loaded.name}: {len(inspection.modules)} sparse-attention modules on a {lr.width}x{lr.height} LR image, "
          f"seed {args.seed} (averages over every query pixel)")
    print(f"{'module':>6} {'round':>5} {'balance':>8} {'largest':>8} {'empty':>6} {'distance':>9} {'non-local':>9}")
    for row in rows:
        r = "all" if row.round == ALL_ROUNDS else str(row.round + 1)
        print(f"{row.module + 1:>6} {r:>5} {row.balance:8.3f} {row.largest_bucket:8.1%} {row.empty_buckets:6.1f} "
              f"{row.mean_distance:9.2f} {row.nonlocal_share:9.1%}")
    return EXIT_OK
