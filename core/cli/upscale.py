"""``nlsn upscale``: files or folders in; one file out, or a folder of ``<name>_x<scale><ext>``."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.models import load_for_scale, make_upscaler, model_line
from core.cli.progress import Progress
from core.base.errors import NLSNError
from core.image import image_size
from core.inference.output_size import OutputSize, fit_to, plan_output
from core.inference.batch import BatchItem, collect_inputs, make_folders, output_paths, run_batch

EXIT_OK, EXIT_FAILED = 0, 1


def _plans(args: argparse.Namespace, inputs: list[Path]) -> list[OutputSize] | None:
    """Each input's output size under --factor / --width / --height (None: the network's own)."""
    if args.factor is None and args.width is None and args.height is None:
        return None
    if args.factor is not None and args.height is not None:
        raise NLSNError("give --factor or a target size (--width / --height), not both")
    plans = []
    for path in inputs:
        try:
            width, height = image_size(path)
        except NLSNError:
            width, height = 1, 1  # unreadable: reported when it is upscaled
        plans.append(plan_output(width, height, factor=args.factor, target_width=args.width,
                                 target_height=args.height))
    return plans


def cmd_upscale(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.inputs)
    plans = _plans(args, inputs)
    if plans is not None and args.scale is None and args.model is None:
        args.scale = max(plan.scale for plan in plans)  # the nearest network scale at or above
    loaded = load_for_scale(args)
    outputs = output_paths(inputs, Path(args.output), loaded.scale,
                           tags=[plan.tag for plan in plans] if plans else None)
    upscaler = make_upscaler(args, loaded)
    make_folders(dst.parent for dst in outputs)
    progress = Progress()
    progress.line(f"model {model_line(loaded)} on {upscaler.device}")

    def one(image, *, progress, cancel):
        result = upscaler.upscale_image(image, seed=args.seed, ensemble=args.ensemble, progress=progress, cancel=cancel)
        if plans is None:
            return result
        size = plan_output(image.width, image.height, factor=args.factor, target_width=args.width,
                           target_height=args.height)
        return fit_to(result, size)

    def prefix(index: int, name: str) -> str:
        return f"[{index + 1}/{len(inputs)}] {name}"

    def report(index: int, item: BatchItem) -> None:
        if item.status == "failed":
            progress.line(f"nlsn: error: {item.message}")
            return
        run = upscaler.last_run
        how = run.text() + (f", {item.frames} frames" if item.frames > 1 else "")
        (w, h), (sw, sh) = item.size, item.out_size
        progress.line(f"{prefix(index, item.source.name)}: {w}x{h} -> {sw}x{sh} "
                      f"({how}, {item.seconds:.1f} s) -> {item.target}")

    if not 1 <= args.quality <= 100:
        raise NLSNError(f"--quality must be from 1 to 100, got {args.quality}")
    items = run_batch(inputs, outputs, upscale_fn=one, on_item=report, quality=args.quality,
                      progress=lambda i, n, f, name, detail: progress.update(prefix(i, name), f, detail) if i < n else None)
    failures = sum(1 for item in items if item.status == "failed")
    if failures:
        progress.line(f"nlsn: {failures} of {len(inputs)} images failed; {len(inputs) - failures} written")
        return EXIT_FAILED
    return EXIT_OK
