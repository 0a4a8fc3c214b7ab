"""``nlsn eval``: PSNR/SSIM of a model or bicubic on a benchmark folder, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.cli.models import load_for_scale, make_upscaler
from core.cli.progress import Progress
from core.eval.protocol import evaluate

EXIT_OK = 0


def cmd_eval(args: argparse.Namespace) -> int:
    data = Path(args.data)
    upscaler = None
    method = "bicubic"
    if args.bicubic:
        args.scale = args.scale or 2
    else:
        loaded = load_for_scale(args)
        args.scale = loaded.config.scale
        upscaler = make_upscaler(args, loaded)
        method = loaded.name
    start = time.perf_counter()
    progress = None if args.json else Progress()
    scores = evaluate(
        data, scale=args.scale, upscaler=upscaler, seed=args.seed, ensemble=args.ensemble,
        on_image=None if progress is None else lambda i, n, name: progress.update(f"[{i}/{n}] {name}", 1.0),
    )
    mean_psnr = float(np.mean([s.psnr for s in scores]))
    mean_ssim = float(np.mean([s.ssim for s in scores]))
    if args.json:
        print(json.dumps({
            "data": str(data), "scale": args.scale, "method": method, "seed": args.seed,
            "ensemble": args.ensemble, "psnr": round(mean_psnr, 4), "ssim": round(mean_ssim, 6),
            "images": [{"name": s.name, "psnr": round(s.psnr, 4), "ssim": round(s.ssim, 6)} for s in scores],
            "seconds": round(time.perf_counter() - start, 3),
        }))
    else:
        width = max([len(s.name) for s in scores] + [8])
        print(f"{data.name} x{args.scale} {method}  (Y channel, border {args.scale})")
        print(f"{'image':<{width}}  {'PSNR':>7}  {'SSIM':>6}")
        for s in scores:
            print(f"{s.name:<{width}}  {s.psnr:7.2f}  {s.ssim:.4f}")
        print(f"{'mean':<{width}}  {mean_psnr:7.2f}  {mean_ssim:.4f}")
    return EXIT_OK

