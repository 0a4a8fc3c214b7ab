"""Loading a model file, strictly, on the CPU: NLSN (the authors' release or the project's own file)
first, by the project's loader; any other architecture through spandrel."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.base.errors import CheckpointError
from core.checkpoints.foreign import build_foreign, detect_architecture
from core.checkpoints.layout import infer_config, list_keys, load_state_strict
from core.checkpoints.project import PROJECT_FORMAT, is_project_file, read_project_file
from core.checkpoints.released import read_released_state
from core.network import NLSN, NLSNConfig, describe
from core.network.foreign import ForeignNet


@dataclass
class LoadedModel:
    """A ready model and what we know about it."""

    model: NLSN | ForeignNet
    config: NLSNConfig | None  # None for another architecture
    source: str  # 'released' (authors' .pt), 'project' (our safetensors) or 'spandrel' (another architecture)
    path: Path
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def is_nlsn(self) -> bool:
        return isinstance(self.model, NLSN)

    @property
    def architecture(self) -> str:
        return "NLSN" if self.is_nlsn else self.model.architecture

    @property
    def scale(self) -> int:
        return self.model.scale

    def description(self) -> str:
        """``64 features and 16 blocks`` for NLSN, ``RCAN (32nf, 3nrg, 6nrb), 0.41 M parameters`` else."""
        return describe(self.config) if self.is_nlsn else self.model.describe()

    def require_nlsn(self, what: str) -> "LoadedModel":
        """Itself, or an error naming ``what`` only NLSN models can do (train, average, inspect)."""
        if not self.is_nlsn:
            raise CheckpointError(f"{self.path.name}: of the {self.architecture} architecture; {what} needs an "
                                  "NLSN model")
        return self


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
    config = None  # read off the keys unless the project's file stores it
    if is_project_file(path):
        state, meta = read_project_file(path)
        source = "project"
        if "config" in meta:
            try:
                config = NLSNConfig.from_dict(json.loads(meta["config"]))
            except (ValueError, TypeError, json.JSONDecodeError) as err:
                raise CheckpointError(f"{name}: its stored configuration is invalid ({err})") from None
        try:
            provenance = json.loads(meta.get("provenance", "{}"))
        except json.JSONDecodeError:
            provenance = {}
        mine = meta.get("format") == PROJECT_FORMAT or config is not None
    else:
        state = read_released_state(path)
        source, mine = "released", False

    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        config = config or infer_config(state, name=name)
        model = NLSN(config)
        load_state_strict(model, state, name=name)
    except CheckpointError as err:
        if mine:
            raise
        return _foreign(state, path, expect_scale, nlsn_error=err)  # not NLSN: another architecture?
    if expect_scale is not None and config.scale != expect_scale:
        raise CheckpointError(f"{name}: is a x{config.scale} model, but x{expect_scale} was asked for")
    model.eval()
    return LoadedModel(model=model, config=config, source=source, path=path, provenance=provenance)


def _foreign(state: dict[str, torch.Tensor], path: Path, expect_scale: int | None, *,
             nlsn_error: CheckpointError) -> LoadedModel:
    """The other architecture spandrel detects in ``state``; when there is none, NLSN's reason for a
    file meant as NLSN (it has NLSN's first layer), else that it is neither."""
    name = path.name
    architecture = detect_architecture(state)
    if architecture is None:
        if "head.0.weight" in state:
            raise nlsn_error
        raise CheckpointError(f"{name}: neither NLSN nor an architecture spandrel knows "
                              f"(keys start {list_keys(list(state))})")
    model = build_foreign(state, name=name, architecture=architecture)
    if expect_scale is not None and model.scale != expect_scale:
        raise CheckpointError(f"{name}: is a x{model.scale} model, but x{expect_scale} was asked for")
    return LoadedModel(model=model, config=None, source="spandrel", path=path)
