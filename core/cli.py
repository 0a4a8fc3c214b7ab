"""The ``nlsn`` command line: ``nlsn upscale`` and ``nlsn eval``.

Contract: progress goes to stderr, results to stdout; every user-facing failure is one line
(``nlsn: error: ...``) and a non-zero exit, never a traceback (set ``NLSN_DEBUG=1`` to see one);
outputs are written atomically, so a failed or interrupted run leaves no partial file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np

from core import __version__
from core.errors import NLSNError
from core.imageio import SUPPORTED_READ, SUPPORTED_WRITE, load_image, save_image

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


# --------------------------------------------------------------------------- progress on stderr


class Progress:
    """One updating line on a terminal; occasional plain lines when stderr is a file or pipe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1.0

    def update(self, prefix: str, fraction: float, detail: str = "") -> None:
        pct = int(fraction * 100)
        if self.tty:
            bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
            self.stream.write(f"\r{prefix} [{bar}] {pct:3d}% {detail}".ljust(79)[:200])
            self.stream.flush()
        elif pct >= self._last + 25 or (pct == 100 and self._last < 100):
            self._last = pct
            self.stream.write(f"{prefix} {pct}%\n")
            self.stream.flush()

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 79 + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last = -1.0


# --------------------------------------------------------------------------- upscale


def collect_inputs(inputs: Sequence[str]) -> list[Path]:
    """Image files from files and folders (a folder's supported images, sorted, not recursive)."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_READ)
            if not images:
                raise NLSNError(f"{path}: folder holds no images ({', '.join(SUPPORTED_READ)})")
            found.extend(images)
        elif path.exists():
            found.append(path)
        else:
            raise NLSNError(f"{path}: no such file or folder")
    return found


def output_paths(inputs: list[Path], output: Path, scale: int) -> list[Path]:
    """A single input may go to a file; otherwise OUTPUT is a folder of ``<stem>_x<s><ext>``."""
    suffix = output.suffix.lower()
    if suffix and not output.is_dir():
        if suffix in SUPPORTED_WRITE:
            if len(inputs) != 1:
                raise NLSNError(f"{output}: names one file, but {len(inputs)} images were given; name a folder")
            return [output]
        if suffix in SUPPORTED_READ:
            raise NLSNError(f"{output}: cannot write {suffix} files; use one of {', '.join(SUPPORTED_WRITE)}")
    names = []
    for path in inputs:
        ext = path.suffix.lower() if path.suffix.lower() in SUPPORTED_WRITE else ".png"
        names.append(output / f"{path.stem}_x{scale}{ext}")
    return names


def _load_for_scale(args: argparse.Namespace):
    """The model of ``--model`` / ``--scale``: a given model sets the scale when --scale is left out;
    without either, the bundled x2 model."""
    from core.checkpoint import load_model
    from core.registry import resolve_model

    if args.scale is None and args.model is not None:
        return load_model(resolve_model(args.model, scale=2))
    scale = args.scale or 2
    return load_model(resolve_model(args.model, scale=scale), expect_scale=scale)


def cmd_upscale(args: argparse.Namespace) -> int:
    from core.inference import Upscaler

    inputs = collect_inputs(args.inputs)
    loaded = _load_for_scale(args)
    args.scale = loaded.config.scale
    outputs = output_paths(inputs, Path(args.output), args.scale)
    upscaler = Upscaler(loaded.model, device=args.device, half=args.half)
    for folder in sorted({dst.parent for dst in outputs}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise NLSNError(f"{folder}: cannot create the output folder ({err.strerror or err})") from None
    progress = Progress()
    progress.line(
        f"model {loaded.name} ({loaded.source}, x{loaded.config.scale}, {loaded.config.n_feats} features, "
        f"{loaded.config.n_resblocks} blocks) on {upscaler.device}"
    )
    failures = 0
    for i, (src, dst) in enumerate(zip(inputs, outputs), start=1):
        prefix = f"[{i}/{len(inputs)}] {src.name}"
        try:
            image = load_image(src)
            result = upscaler.upscale_image(
                image,
                seed=args.seed,
                ensemble=args.ensemble,
                progress=lambda f, detail, p=prefix: progress.update(p, f, detail),
            )
            save_image(dst, result)
        except NLSNError as err:
            failures += 1
            progress.line(f"nlsn: error: {err}")
            continue
        run = upscaler.last_run
        how = f"{run.tiles} tiles" if run.tiles > 1 else "whole image"
        progress.line(
            f"{prefix}: {image.width}x{image.height} -> {result.width}x{result.height} "
            f"({how}{', x8 ensemble' if run.passes > 1 else ''}, {run.seconds:.1f} s) -> {dst}"
        )
    if failures:
        progress.line(f"nlsn: {failures} of {len(inputs)} images failed; {len(inputs) - failures} written")
        return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------- eval


def cmd_eval(args: argparse.Namespace) -> int:
    from core.evaluation import evaluate
    from core.inference import Upscaler

    data = Path(args.data)
    upscaler = None
    method = "bicubic"
    if args.bicubic:
        args.scale = args.scale or 2
    else:
        loaded = _load_for_scale(args)
        args.scale = loaded.config.scale
        upscaler = Upscaler(loaded.model, device=args.device, half=args.half)
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


# --------------------------------------------------------------------------- train

# Command-line flag -> TrainConfig field, for the settings a flag may override.
TRAIN_FLAGS = {
    "data": "data", "lr_data": "lr_data", "scale": "scale", "preset": "preset", "iters": "iters",
    "batch": "batch", "patch": "patch", "lr": "lr", "save_every": "save_every", "val_every": "val_every",
    "log_every": "log_every", "val": "val", "seed": "seed", "device": "device", "init_from": "init_from",
    "cache_dir": "cache_dir", "lr_halve_every": "lr_halve_every", "threads": "threads",
    "precision": "precision", "warmup": "warmup", "ema_decay": "ema_decay", "keep_every": "keep_every",
}


def _format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:d}:{minutes:02d}:{secs:02d}"


def training_printer(progress: Progress):
    """A listener that shows a run's events on stderr."""
    from core.training import DataEvent, FinishedEvent, MessageEvent, StepEvent, ValidationEvent

    def show(event) -> None:
        if isinstance(event, DataEvent):
            if progress.tty and event.done < event.total:
                progress.stream.write(f"\rpreparing training images: {event.done}/{event.total}".ljust(60))
                progress.stream.flush()
            elif event.done == 0:
                progress.line(f"preparing {event.total} training images")
        elif isinstance(event, StepEvent):
            text = (f"step {event.step}/{event.iters} | loss {event.loss:.4f} | {event.it_per_s:.2f} it/s | "
                    f"ETA {_format_duration(event.eta_s)} | lr {event.lr:.1e} | mem {event.memory_bytes / 2**30:.1f} GiB")
            if progress.tty:
                progress.stream.write("\r" + text.ljust(100)[:160])
                progress.stream.flush()
            else:
                progress.line(text)
        elif isinstance(event, ValidationEvent):
            progress.line(f"validation at step {event.step}: PSNR {event.psnr:.2f} dB, SSIM {event.ssim:.4f}"
                          f" (best {event.best_psnr:.2f}{', new best' if event.is_best else ''})")
        elif isinstance(event, MessageEvent):
            progress.line(("warning: " if event.level == "warning" else "") + event.text)
        elif isinstance(event, FinishedEvent):
            progress.line(event.message)

    return show


def _train_config(args: argparse.Namespace):
    from core.training import TrainConfig, default_val_dir

    if args.resume:
        config = TrainConfig.load(Path(args.resume) / "config.json")
    else:
        config = TrainConfig.load(Path(args.config)) if args.config else TrainConfig()
    values = config.to_dict()
    for flag, name in TRAIN_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            values[name] = value
    if not args.resume:
        if args.no_val:
            values["val"] = None
        elif values.get("val") is None:
            default = default_val_dir()
            values["val"] = str(default) if default else None
    return TrainConfig.from_dict(values)


def cmd_train(args: argparse.Namespace) -> int:
    import signal

    from core.training import Trainer, dist_from_env

    if not args.resume and not args.out:
        raise NLSNError("give --out RUN_DIR for a new run, or --resume RUN_DIR")
    if args.resume and args.out:
        raise NLSNError("--resume continues the run in its own folder; leave out --out")
    config = _train_config(args)
    dist = dist_from_env()
    progress = Progress()
    trainer = Trainer(config, args.resume or args.out, resume=bool(args.resume),
                      listener=training_printer(progress), dist=dist)

    def on_signal(signum, _frame) -> None:
        if trainer.stop_requested:
            raise KeyboardInterrupt
        progress.line("stopping after saving a checkpoint (press Ctrl-C again to abort at once)")
        trainer.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        result = trainer.run()
    finally:
        if dist.enabled:
            import torch.distributed

            torch.distributed.destroy_process_group()
    return EXIT_FAILED if result.reason == "diverged" else EXIT_OK


# --------------------------------------------------------------------------- average


def cmd_average(args: argparse.Namespace) -> int:
    from core.checkpoint import write_average
    from core.registry import resolve_model

    loaded = write_average([resolve_model(name, scale=2) for name in args.models], args.out)
    print(f"averaged {len(args.models)} models (x{loaded.config.scale}, {loaded.config.n_feats} features, "
          f"{loaded.config.n_resblocks} blocks) -> {loaded.path}", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- parser and main


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of the LSH rotations (default 0)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="default: auto")
    p.add_argument("--ensemble", action="store_true", help="x8 self-ensemble (flips and transposes)")
    p.add_argument("--half", action=argparse.BooleanOptionalAction, default=None,
                   help="half precision (default: on for CUDA, off elsewhere)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlsn", description="Image super-resolution with NLSN (Non-Local Sparse Network)."
    )
    parser.add_argument("--version", action="version", version=f"nlsn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("upscale", help="upscale images or folders of images")
    up.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    up.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    up.add_argument("--scale", type=int, choices=[2, 3, 4],
                    help="default: the model's scale, or 2 with the bundled models")
    up.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                    help="bundled model name or a .pt/.safetensors file (default: the bundled model of the scale)")
    _add_model_options(up)
    up.set_defaults(func=cmd_upscale)

    ev = sub.add_parser("eval", help="PSNR/SSIM on a benchmark folder (Y channel, border = scale)")
    ev.add_argument("--data", required=True, metavar="DIR",
                    help="SelfExSR layout (image_SRF_s/), HR/ + LR_bicubic/Xs/, or a folder of HR images")
    ev.add_argument("--scale", type=int, choices=[2, 3, 4],
                    help="default: the model's scale, or 2 with the bundled models")
    what = ev.add_mutually_exclusive_group()
    what.add_argument("--bicubic", action="store_true", help="evaluate MATLAB-bicubic upscaling")
    what.add_argument("--model", metavar="NAME_OR_PATH", help="evaluate a model (default: the bundled one)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    _add_model_options(ev)
    ev.set_defaults(func=cmd_eval)

    tr = sub.add_parser("train", help="train a model (the paper's recipe by default); works under torchrun")
    tr.add_argument("--data", action="append", metavar="DIR", help="folder of HR training images (repeatable)")
    tr.add_argument("--lr-data", action="append", metavar="DIR",
                    help="folder of matching LR images, one per --data (default: made with MATLAB bicubic)")
    tr.add_argument("--scale", type=int, choices=[2, 3, 4])
    tr.add_argument("--preset", help="model configuration: light, paper, light-nonlocal-off, tiny")
    tr.add_argument("--iters", type=int, help="total iterations (paper: 1000000)")
    tr.add_argument("--batch", type=int, help="global batch size (paper: 16)")
    tr.add_argument("--patch", type=int, help="LR patch size (paper: 48)")
    tr.add_argument("--lr", type=float, help="learning rate (paper: 1e-4, halved every 200k iterations)")
    tr.add_argument("--lr-halve-every", type=int, metavar="K", help="halve the learning rate every K iterations")
    tr.add_argument("--warmup", type=int, metavar="K",
                    help="raise the learning rate linearly over the first K iterations (default 0, as the "
                         "paper; useful with --init-from)")
    tr.add_argument("--threads", type=int, metavar="N", help="CPU threads for training (default: all cores)")
    tr.add_argument("--precision", choices=["fp32", "bf16"],
                    help="fp32 (paper, default) or bf16 mixed precision (1.7x faster measured on a CPU "
                         "with AVX-512 BF16; for such CPUs, AMX and recent GPUs): weights, optimizer and "
                         "validation stay fp32")
    tr.add_argument("--ema-decay", type=float, metavar="D",
                    help="keep a moving average of the weights (e.g. 0.999; default 0: off, as the paper); "
                         "the average is validated and saved as the run's models")
    tr.add_argument("--keep-every", type=int, metavar="K",
                    help="also keep the model of every K-th step in snapshots/ (default 0: none), "
                         "e.g. to average the last ones with nlsn average")
    tr.add_argument("--save-every", type=int, metavar="K", help="checkpoint every K iterations")
    tr.add_argument("--val-every", type=int, metavar="K", help="validate every K iterations")
    tr.add_argument("--log-every", type=int, metavar="K", help="log every K iterations")
    tr.add_argument("--val", metavar="DIR", help="validation set (default: Set5 beside the project, when present)")
    tr.add_argument("--no-val", action="store_true", help="no validation")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    tr.add_argument("--init-from", metavar="MODEL",
                    help="start from a model file or bundled model (e.g. nlsn-light-x2 for x3/x4; the same "
                         "scale keeps the upsampler too)")
    tr.add_argument("--cache-dir", metavar="DIR", help="where prepared training pairs are cached")
    tr.add_argument("--config", metavar="FILE", help="JSON file of training settings (flags override it)")
    tr.add_argument("--out", metavar="RUN_DIR", help="folder of a new run")
    tr.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    tr.set_defaults(func=cmd_train)

    av = sub.add_parser("average", help="average the weights of model files of one configuration "
                                        "(e.g. a run's snapshots, --keep-every)")
    av.add_argument("models", nargs="+", metavar="MODEL", help="model files or bundled names (two or more)")
    av.add_argument("--out", required=True, metavar="FILE", help="the averaged model (.safetensors)")
    av.set_defaults(func=cmd_average)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except NLSNError as err:
        print(f"nlsn: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnlsn: interrupted; files already written are complete, nothing is half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("nlsn: error: out of memory; try a smaller image or --device cpu", file=sys.stderr)
        return EXIT_FAILED
    except Exception as err:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("NLSN_DEBUG"):
            traceback.print_exc()
        print(f"nlsn: internal error: {type(err).__name__}: {err} (set NLSN_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
