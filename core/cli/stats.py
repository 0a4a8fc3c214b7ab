"""``nlsn stats``: what a model costs for an input size: parameters, FLOPs, time, memory, per stage."""

from __future__ import annotations

import argparse
import json
import re

from core.base.errors import NLSNError
from core.base.text import format_bytes
from core.checkpoints import load_model, resolve_model
from core.inspection.stats import model_stats

EXIT_OK = 0


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m or min(int(m.group(1)), int(m.group(2))) < 1:
        raise NLSNError(f"--size must be WIDTHxHEIGHT, e.g. 256x256, not {text!r}")
    return int(m.group(1)), int(m.group(2))


def cmd_stats(args: argparse.Namespace) -> int:
    width, height = parse_size(args.size)
    loaded = load_model(resolve_model(args.model, scale=2))
    stats = model_stats(loaded.model, width, height, device=args.device, seed=args.seed)
    if args.json:
        print(json.dumps({"model": loaded.name, **stats.to_json()}))
        return EXIT_OK
    memory = format_bytes(stats.peak_bytes) + (" (measured)" if stats.peak_measured else " (estimated)") \
        if stats.peak_bytes else "not known on this device"
    print(f"{loaded.name}: {stats.architecture} x{stats.scale}, {width}x{height} -> "
          f"{width * stats.scale}x{height * stats.scale} on {stats.device}")
    print(f"parameters {stats.params:,}   FLOPs {stats.flops / 1e9:.2f} G   "
          f"time {stats.seconds:.3f} s   peak memory {memory}")
    wide = max(len(s.name) for s in stats.stages)
    print(f"{'stage':<{wide}}  {'params':>10}  {'GFLOPs':>8}  {'share':>6}  {'seconds':>8}")
    for s in stats.stages:
        share = s.flops / stats.flops if stats.flops else 0.0
        print(f"{s.name:<{wide}}  {s.params:>10,}  {s.flops / 1e9:8.3f}  {share:6.1%}  {s.seconds:8.3f}")
    return EXIT_OK
