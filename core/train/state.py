"""The resume checkpoint (``checkpoints/last.pt``) and the provenance every saved model carries.

The checkpoint holds everything a resume needs (model, optimizer, step, best PSNR, time, the weight
average) and is written atomically, so even SIGKILL loses at most the steps since it. It is read
back with ``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.base.errors import NLSNError
from core.base.fileio import atomic_write, os_error_reason
from core.train.config import TrainConfig

TRAIN_STATE_FORMAT = "nlsn-train-state"


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def save_state(
    path: Path,
    *,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema_model: nn.Module | None,
    best_psnr: float,
    elapsed: float,
    config: TrainConfig,
) -> None:
    state = {
        "format": TRAIN_STATE_FORMAT,
        "step": step,
        "model": _cpu_state(model),
        "optimizer": optimizer.state_dict(),
        "best_psnr": float(best_psnr),
        "elapsed": float(elapsed),
        "config": json.dumps(config.to_dict()),
    }
    if ema_model is not None:
        state["ema"] = _cpu_state(ema_model)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buffer.getvalue())
    except OSError as err:
        raise NLSNError(f"cannot save the checkpoint in {path.parent.parent} ({os_error_reason(err)})") from None


def load_state(path: Path) -> dict[str, Any]:
    """The checkpoint's contents, or one readable line why the run cannot resume from it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear answer
        raise NLSNError(f"{path}: checkpoint cannot be read ({type(err).__name__}); the run cannot resume") from None
    if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
        raise NLSNError(f"{path}: not a training checkpoint of this tool")
    return state


def provenance(config: TrainConfig, *, step: int, best_psnr: float, elapsed: float, averaged: bool) -> dict[str, Any]:
    """What a model file says about how it was made (``averaged``: it holds the weight average)."""
    return {
        "trained_by": "nlsn train",
        "step": step,
        "data": [Path(d).name for d in config.data],  # folder names: no local paths in shipped files
        "scale": config.scale,
        "preset": config.preset,
        "best_psnr": None if best_psnr == -math.inf else round(best_psnr, 4),
        "val": Path(config.val).name if config.val else None,
        "seconds": round(elapsed, 1),
        # the file holds the weights' moving average (ema_decay), not the last step's weights
        **({"ema_decay": config.ema_decay} if averaged else {}),
    }
