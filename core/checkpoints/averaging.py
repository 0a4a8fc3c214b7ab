"""Checkpoint averaging: several model files of one configuration into one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from core.base.errors import CheckpointError
from core.checkpoints.loading import LoadedModel, load_model
from core.checkpoints.project import save_model


def average_models(paths: Sequence[str | os.PathLike]) -> LoadedModel:
    """The uniform average of the weights of several model files of one configuration.

    Checkpoint averaging: the snapshots of a run's last stretch (``nlsn train --keep-every``)
    average into a model that sits nearer the middle of the basin the updates were circling
    (stochastic weight averaging, Izmailov et al. 2018), where the last snapshot alone carries the
    noise of its last few updates. The result keeps the newest file's provenance (the last path's)
    and lists the files it averages. The files are read one at a time into a float64 running sum,
    so however many there are, memory holds the sum and at most two models (the one being read
    and the one before it), not all of them.
    """
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise CheckpointError("averaging needs at least two model files")
    last = load_model(paths[0]).require_nlsn("averaging")
    config, first_name = last.config, last.path.name
    total = {k: v.double() for k, v in last.model.state_dict().items() if v.is_floating_point()}
    for path in paths[1:]:
        last = load_model(path).require_nlsn("averaging")  # the previous model is freed now: only its share of the sum stays
        if last.config != config:
            mine, theirs = config.to_dict(), last.config.to_dict()
            differ = ", ".join(f"{k} {mine[k]} / {theirs[k]}" for k in mine if mine[k] != theirs[k])
            raise CheckpointError(f"{path.name}: another configuration than {first_name} "
                                  f"({differ}); only models of one configuration can be averaged")
        for key, value in last.model.state_dict().items():
            if key in total:
                total[key] += value.double()
    state = last.model.state_dict()
    averaged = {k: (total[k] / len(paths)).to(v.dtype) if k in total else v for k, v in state.items()}
    last.model.load_state_dict(averaged, strict=True)
    last.provenance = {**last.provenance, "averaged": [p.name for p in paths]}
    return last


def write_average(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> LoadedModel:
    """Average ``paths`` (see :func:`average_models`) and save the result as the project file ``out``.

    The returned model's ``path`` is ``out``. Nothing is written when a file cannot be read or the
    configurations differ; the inputs are all read before ``out`` is replaced, so ``out`` may be
    one of them.
    """
    out = Path(out)
    if out.suffix.lower() != ".safetensors":
        raise CheckpointError(f"{out.name}: the average is written as a .safetensors file")
    loaded = average_models(paths)
    save_model(out, loaded.model, provenance=loaded.provenance)
    loaded.path, loaded.source = out, "project"
    return loaded
