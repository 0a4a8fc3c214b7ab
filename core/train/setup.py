"""Checks before a run starts, so a bad setting fails in one readable line, not minutes later."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from core.base.errors import NLSNError
from core.checkpoints import LoadedModel, load_model, resolve_model
from core.network import PRESETS, describe
from core.train.config import TrainConfig
from core.train.run_folder import RunFolder
from resources import CHECKOUT

_SHARED_DATA = CHECKOUT.parent / "shared" / "data"  # the data set beside a development checkout


def bf16_problem(device: torch.device) -> tuple[str, str] | None:
    """Why bf16 mixed precision cannot run (level "error") or would not pay (level "warning") on
    ``device``, as (level, text); None when it runs natively."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return None
        return "error", f"{torch.cuda.get_device_name(device)} has no bf16 support: train with precision fp32"
    if device.type != "cpu":
        return "error", f"bf16 training is not available on {device.type}: train with precision fp32"
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    if native:
        return None
    return "warning", ("this CPU has no native bf16 (AVX-512 BF16 or AMX): bf16 runs emulated and "
                       "is likely slower than fp32")


def load_init_source(config: TrainConfig) -> LoadedModel:
    """The model ``config.init_from`` names (a file or a bundled model's name), checked to be the
    run's configuration (any scale)."""
    loaded = load_model(resolve_model(config.init_from, scale=config.scale)).require_nlsn("training from it")
    have, want = loaded.config, config.model_config()
    if (have.n_feats, have.n_resblocks, have.use_nlsa) != (want.n_feats, want.n_resblocks, want.use_nlsa):
        raise NLSNError(
            f"{Path(config.init_from).name} has {describe(have)}; the {config.preset} configuration has "
            f"{describe(want)}: start from a {config.preset} model, or choose its configuration"
        )
    return loaded


def default_data_dirs() -> Sequence[Path]:
    """The 291-image set beside the project checkout, when present (a default path only)."""
    train = _SHARED_DATA / "train"
    return [p for p in (train / "T91", train / "BSD200") if p.is_dir()]


def default_val_dir() -> Path | None:
    path = _SHARED_DATA / "benchmark" / "Set5"
    return path if path.is_dir() else None


def check_setup(config: TrainConfig, run_dir: str | os.PathLike, *, resume: bool = False) -> None:
    """Fail fast, with one readable line, on what would only fail once a run had started."""
    config.validate()
    for folder in config.data:
        if not Path(folder).is_dir():
            raise NLSNError(f"training folder not found: {folder}")
    for folder in config.lr_data or []:
        if not Path(folder).is_dir():
            raise NLSNError(f"LR folder not found: {folder}")
    if config.val and not Path(config.val).is_dir():
        raise NLSNError(f"validation folder not found: {config.val}")
    if config.preset not in PRESETS:
        raise NLSNError(f"unknown configuration {config.preset!r}; choose from {', '.join(PRESETS)}")
    if config.init_from and not resume:
        load_init_source(config)
    if not str(run_dir).strip():
        raise NLSNError("choose an output folder for the run")
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    if resume:
        if not folder.config.is_file():
            raise NLSNError(f"{run_dir}: not a training run (no config.json)")
    else:
        if folder.config.exists():
            raise NLSNError(f"{run_dir} already holds a run: resume it, or choose another output folder")
        if run_dir.exists() and not run_dir.is_dir():
            raise NLSNError(f"{run_dir} is a file, not a folder")
