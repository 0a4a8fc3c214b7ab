"""``nlsn train``: a new run or ``--resume``; Ctrl-C (or SIGTERM) stops after saving a checkpoint."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from core.base.errors import NLSNError
from core.base.text import format_duration
from core.cli.progress import Progress
from core.train import (
    DataEvent,
    Event,
    FinishedEvent,
    MessageEvent,
    RunFolder,
    StepEvent,
    TrainConfig,
    Trainer,
    ValidationEvent,
    default_val_dir,
    dist_from_env,
)

EXIT_OK, EXIT_FAILED = 0, 1

# The TrainConfig fields a flag of the same name (``--lr-halve-every`` -> lr_halve_every) overrides.
TRAIN_FLAGS = (
    "data", "lr_data", "scale", "preset", "iters", "batch", "patch", "lr", "save_every", "val_every",
    "log_every", "val", "seed", "device", "init_from", "cache_dir", "lr_halve_every", "threads",
    "precision", "warmup", "ema_decay", "keep_every",
)


def training_printer(progress: Progress):
    """A listener that shows a run's events on stderr."""

    def show(event: Event) -> None:
        if isinstance(event, DataEvent):
            if progress.tty and event.done < event.total:
                progress.stream.write(f"\rpreparing training images: {event.done}/{event.total}".ljust(60))
                progress.stream.flush()
            elif event.done == 0:
                progress.line(f"preparing {event.total} training images")
        elif isinstance(event, StepEvent):
            text = (f"step {event.step}/{event.iters} | loss {event.loss:.4f} | {event.it_per_s:.2f} it/s | "
                    f"ETA {format_duration(event.eta_s, unknown='?')} | lr {event.lr:.1e} | "
                    f"mem {event.memory_bytes / 2**30:.1f} GiB")
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


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The run's settings: the resumed run's (or ``--config``'s, or the defaults), flags on top."""
    if args.resume:
        config = TrainConfig.load(RunFolder(args.resume).config)
    else:
        config = TrainConfig.load(Path(args.config)) if args.config else TrainConfig()
    values = config.to_dict()
    for name in TRAIN_FLAGS:
        value = getattr(args, name, None)
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
    if not args.resume and not args.out:
        raise NLSNError("give --out RUN_DIR for a new run, or --resume RUN_DIR")
    if args.resume and args.out:
        raise NLSNError("--resume continues the run in its own folder; leave out --out")
    config = train_config(args)
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
