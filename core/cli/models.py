"""The model a command runs (``--model`` / ``--scale``), and ``nlsn average``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.base.errors import NLSNError
from core.checkpoints import LoadedModel, load_model, resolve_model, write_average
from core.network import describe


def load_for_scale(args: argparse.Namespace) -> LoadedModel:
    """The model of ``--model`` / ``--scale``: a given model sets the scale when --scale is left out;
    without either, the bundled x2 model."""
    if args.scale is None and args.model is not None:
        return load_model(resolve_model(args.model, scale=2))
    scale = args.scale or 2
    return load_model(resolve_model(args.model, scale=scale), expect_scale=scale)


def model_line(loaded: LoadedModel) -> str:
    """``nlsn-light-x2 (project, x2, 64 features and 16 blocks)``, ``rcan (x2, RCAN (...), 0.41 M parameters)``."""
    source = f"{loaded.source}, " if loaded.is_nlsn else ""
    return f"{loaded.name} ({source}x{loaded.scale}, {loaded.description()})"


def cmd_average(args: argparse.Namespace) -> int:
    loaded = write_average([resolve_model(name, scale=2) for name in args.models], args.out)
    print(f"averaged {len(args.models)} models (x{loaded.config.scale}, {describe(loaded.config)}) -> {loaded.path}",
          file=sys.stderr)
    return 0


def make_upscaler(args: argparse.Namespace, loaded: LoadedModel, *, rounds: int | None = None,
                  chunk: int | None = None):
    """The Upscaler of the command line's device, precision, memory and tile options (and hash
    rounds and chunk size, None: the model's)."""
    from core.inference import Upscaler

    budget = None if args.memory is None else int(args.memory * 2**30)
    if budget is not None and budget <= 0:
        raise NLSNError("--memory must be a positive number of GiB")
    return Upscaler(loaded.model, device=args.device, half=args.half, precision=args.precision,
                    memory_budget=budget, tile=args.tile, rounds=rounds, chunk=chunk)


def model_and_lr(args: argparse.Namespace):
    """(LoadedModel, LR Image) of ``--model`` and ``--image`` (``--from-hr``: the image is HR and
    its LR is made as Simulate makes it, for the model's scale)."""
    from core.eval.compare import simulate_lr
    from core.image import load_image

    loaded = load_model(resolve_model(args.model, scale=2))
    image = load_image(Path(args.image))
    return loaded, simulate_lr(image, loaded.scale)[0] if args.from_hr else image
