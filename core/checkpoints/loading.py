"""Loading either kind of model file, strictly, on the CPU."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.base.errors import CheckpointError
from core.checkpoints.layout import infer_config, load_state_strict
from core.checkpoints.project import is_project_file, read_project_file
from core.checkpoints.released import read_released_state
from core.network import NLSN, NLSNConfig


@dataclass
class LoadedModel:
    """A ready model and what we know about it."""

    model: NLSN
    config: NLSNConfig
    source: str  # 'released' (authors' .pt) or 'project' (our safetensors)
    path: Path
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem


def load_model(path: str | os.PathLike, *, expect_scale: int | None = None) -> LoadedModel:
    """Load a released ``.pt``/``.pth`` or a project ``.safetensors`` file, strictly, on the CPU."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise CheckpointError(f"{name}: model file not found ({path})")
    if path.is_dir():
        raise CheckpointError(f"{name}: is a folder, not a model file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{name}: file is empty")

    provenance: dict[str, Any] = {}
    if is_project_file(path):
        state, meta = read_project_file(path)
        source = "project"
        if "config" in meta:
            try:
                config = NLSNConfig.from_dict(json.loads(meta["config"]))
            except (ValueError, TypeError, json.JSONDecodeError) as err:
                raise CheckpointError(f"{name}: its stored configuration is invalid ({err})") from None
        else:
            config = infer_config(state, name=name)
        try:
            provenance = json.loads(meta.get("provenance", "{}"))
        except json.JSONDecodeError:
            provenance = {}
    else:
        state = read_released_state(path)
        source = "released"
        config = infer_config(state, name=name)

    if expect_scale is not None and config.scale != expect_scale:
        raise CheckpointError(f"{name}: is a x{config.scale} model, but x{expect_scale} was asked for")
    model = NLSN(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    load_state_strict(model, state, name=name)
    model.eval()
    return LoadedModel(model=model, config=config, source=source, path=path, provenance=provenance)
