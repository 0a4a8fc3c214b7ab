"""``nlsn eval --rounds/--chunk/--tiles``: one model at several settings of how it runs — hash rounds
and chunk size (the paper's Table 3 and Fig. 5), or the whole image against tiles of given sizes
(does the non-local attention help on these images?)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

from core.base.errors import NLSNError
from core.cli.models import make_upscaler
from core.cli.progress import Progress

EXIT_OK = 0


def _row(m, **setting) -> dict:
    return {**setting, "psnr": round(m.psnr, 4), "ssim": round(m.ssim, 6), "seconds": round(m.seconds, 3)}


def cmd_trade_off(args: argparse.Namespace, data: Path, progress: Progress | None, *, methods: Callable,
                  run: Callable) -> int:
    if args.bicubic or len(args.model or []) > 1:
        raise NLSNError("--rounds, --chunk and --tiles evaluate one model: give one --model, without --bicubic")
    if args.tiles and (args.rounds or args.chunk):
        raise NLSNError("--tiles compares the whole image with tiles: give it without --rounds and --chunk")
    loaded = methods(args)[0]
    rows, key = [], "by_rounds"
    if args.tiles:
        key = "by_tile"
        for tile in [None, *args.tiles]:  # the whole image first: what the tiles are measured against
            upscaler = make_upscaler(args, loaded)
            upscaler.tile = tile
            rows.append(_row(run(loaded, args, data, progress, set(), upscaler=upscaler), tile=tile))
        for r in rows:
            r["psnr_change"] = round(r["psnr"] - rows[0]["psnr"], 4)
    else:
        loaded.require_nlsn("--rounds and --chunk (hash rounds, chunk size)")
        for rounds in args.rounds or [loaded.config.n_hashes]:
            for chunk in args.chunk or [loaded.config.chunk_size]:
                upscaler = make_upscaler(args, loaded, rounds=rounds, chunk=chunk)
                rows.append(_row(run(loaded, args, data, progress, set(), upscaler=upscaler),
                                 rounds=rounds, chunk=chunk))
    if progress is not None:
        progress.clear()
    if args.json:
        print(json.dumps({"data": str(data), "scale": args.scale, "model": loaded.name, "seed": args.seed,
                          key: rows}))
        return EXIT_OK
    what = "the whole image and tiles" if args.tiles else "hash rounds and chunk size"
    print(f"{data.name} x{args.scale} {loaded.name}: {what} (PSNR/SSIM on Y, border {args.scale})")
    if args.tiles:
        print(f"{'tile':>6}  {'PSNR':>7}  {'change':>7}  {'SSIM':>6}  {'seconds':>7}")
        for r in rows:
            tile = "whole" if r["tile"] is None else str(r["tile"])
            print(f"{tile:>6}  {r['psnr']:7.2f}  {r['psnr_change']:+7.3f}  {r['ssim']:.4f}  {r['seconds']:7.1f}")
    else:
        print(f"{'rounds':>6}  {'chunk':>5}  {'PSNR':>7}  {'SSIM':>6}  {'seconds':>7}")
        for r in rows:
            print(f"{r['rounds']:>6}  {r['chunk']:>5}  {r['psnr']:7.2f}  {r['ssim']:.4f}  {r['seconds']:7.1f}")
    return EXIT_OK
