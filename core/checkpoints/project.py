"""The project's own model files: safetensors (no code at all) with the configuration and the
provenance as metadata, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from core.base.errors import CheckpointError
from core.base.fileio import atomic_write, os_error_reason
from core.network import NLSN

PROJECT_FORMAT = "nlsn-checkpoint"
PROJECT_FORMAT_VERSION = "1"


def save_model(
    path: str | os.PathLike,
    model: NLSN,
    *,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write the project's format: safetensors with the configuration and provenance as metadata.

    Atomic: written next to the target, then renamed over it.
    """
    from safetensors.torch import save as st_save

    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": PROJECT_FORMAT,
        "format_version": PROJECT_FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict(), sort_keys=True),
        "provenance": json.dumps(dict(provenance or {}), sort_keys=True, default=str),
    }
    data = st_save(tensors, metadata=metadata)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    except OSError as err:
        raise CheckpointError(f"{path.name}: cannot save ({os_error_reason(err)})") from None
    return path


def read_project_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    name = path.name
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{name}: cannot be read ({err.strerror or err})") from None
    try:
        tensors = st_load(data)
        metadata = _safetensors_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError, OSError):
        raise CheckpointError(f"{name}: not a valid safetensors file (truncated or corrupt)") from None
    return tensors, metadata


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (8-byte little-endian header length, JSON header)."""
    if len(data) < 8:
        raise ValueError("too short")
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("bad metadata")
    return {str(k): str(v) for k, v in meta.items()}


def is_project_file(path: Path) -> bool:
    return path.suffix.lower() == ".safetensors"
