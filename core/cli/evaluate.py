"""``nlsn eval``: PSNR/SSIM of models (any architecture) and bicubic on a benchmark folder, as a
table (text, Markdown, CSV) or JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.checkpoints import LoadedModel, load_model, resolve_model
from core.cli.models import make_upscaler
from core.cli.progress import Progress
from core.eval.protocol import evaluate
from core.eval.tables import MethodScores, format_table
from core.inference import Upscaler

EXIT_OK = 0


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``... when two models' files share a name."""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(candidate)
    return candidate


def _methods(args: argparse.Namespace) -> list[LoadedModel | None]:
    """What is evaluated, bicubic (None) first: every model loaded before any is run, so a file that
    does not load, or is of another scale than the first, stops the command at once."""
    specs = list(args.model or []) or ([] if args.bicubic else [None])
    models = []
    for spec in specs:
        loaded = load_model(resolve_model(spec, scale=args.scale or 2), expect_scale=args.scale)
        args.scale = loaded.scale  # the first model sets the scale; the others must match it
        models.append(loaded)
    args.scale = args.scale or 2
    return [None] * args.bicubic + models


def _run(loaded: LoadedModel | None, args: argparse.Namespace, data: Path, progress: Progress | None,
         taken: set[str], *, upscaler: Upscaler | None = None) -> MethodScores:
    """One method's scores (bicubic for None)."""
    name, architecture, params, extra = "bicubic", "bicubic", 0, {}
    if loaded is not None:
        upscaler = upscaler or make_upscaler(args, loaded)
        name, architecture = loaded.name, loaded.architecture
        params = sum(p.numel() for p in loaded.model.parameters())
        extra = {"model": str(loaded.path)}
    label = _unique(name, taken)
    start = time.perf_counter()

    def on_image(i: int, n: int, image: str) -> None:
        if progress is not None:
            progress.update(f"{label} [{i}/{n}] {image}", 1.0)

    scores = evaluate(data, scale=args.scale, upscaler=upscaler, seed=args.seed, ensemble=args.ensemble,
                      on_image=on_image)
    return MethodScores(label, architecture, scores, seconds=time.perf_counter() - start, params=params, extra=extra)


def cmd_eval(args: argparse.Namespace) -> int:
    data = Path(args.data)
    progress = None if args.json else Progress()
    if args.rounds or args.chunk or args.tiles:
        from core.cli.trade_off import cmd_trade_off

        return cmd_trade_off(args, data, progress, methods=_methods, run=_run)
    taken: set[str] = set()
    todo = _methods(args)
    methods = []
    while todo:  # each model is let go once evaluated
        methods.append(_run(todo.pop(0), args, data, progress, taken))
    if progress is not None:
        progress.clear()
    if args.json:
        common = {"data": str(data), "scale": args.scale, "seed": args.seed, "ensemble": args.ensemble}
        if len(methods) == 1:  # one method: the object of each image, as it always was
            m = methods[0].to_json()
            print(json.dumps({**common, "method": m["name"], "psnr": m["psnr"], "ssim": m["ssim"],
                              "images": m["images"], "seconds": m["seconds"]}))
        else:
            print(json.dumps({**common, "models": [m.to_json() for m in methods]}))
        return EXIT_OK
    title = f"{data.name} x{args.scale}  (PSNR/SSIM on Y, border {args.scale})"
    if args.format == "text" and len(methods) == 1:
        title = f"{data.name} x{args.scale} {methods[0].name}  (Y channel, border {args.scale})"
    per_image = args.per_image or (args.format == "text" and len(methods) == 1)
    print(format_table(methods, fmt=args.format, per_image=per_image, title="" if args.format == "csv" else title),
          end="")
    return EXIT_OK
