"""Model files: the authors' released ``.pt`` state dicts and the project's own safetensors format.

Nothing here unpickles arbitrary objects: released files go through ``torch.load(weights_only=True)``
(which refuses any pickle that names a callable), the project's files are safetensors (no code at
all). Every failure is a :class:`CheckpointError` with one precise line.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from core.errors import CheckpointError
from core.fileio import atomic_write, os_error_reason
from core.nlsn import NLSN, NLSNConfig, nlsa_positions

PROJECT_FORMAT = "nlsn-checkpoint"
PROJECT_FORMAT_VERSION = "1"
# Keys some training scripts wrap a state dict in.
WRAPPER_KEYS = ("state_dict", "model", "params", "params_ema", "model_state_dict")
MAX_LISTED = 6  # how many offending keys a message names before "and N more"


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


# --------------------------------------------------------------------------- inferring the config

_BODY_KEY = re.compile(r"^body\.(\d+)\.(.+)$")


def _list(keys: list[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED])
    more = len(keys) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def infer_config(state: Mapping[str, torch.Tensor], *, name: str = "checkpoint") -> NLSNConfig:
    """Read features, blocks, NLSA layout and scale off the keys and shapes of a state dict.

    What the weights do not say (R, k, res_scale) takes the paper's values (spec).
    """
    if "head.0.weight" not in state:
        raise CheckpointError(f"{name}: not an NLSN model (no head.0.weight; keys start {_list(list(state))})")
    head = state["head.0.weight"]
    if head.ndim != 4 or head.shape[1] != 3:
        raise CheckpointError(f"{name}: head.0.weight has shape {tuple(head.shape)}, expected (F, 3, 3, 3)")
    n_feats = int(head.shape[0])

    # Body modules by index: NLSA (conv_match), ResBlock (body.0), or the final conv (weight).
    kinds: dict[int, str] = {}
    for key in state:
        m = _BODY_KEY.match(key)
        if not m:
            continue
        index, rest = int(m.group(1)), m.group(2)
        kind = "nlsa" if rest.startswith(("conv_match", "conv_assembly")) else "res" if rest.startswith("body.") else "conv"
        kinds.setdefault(index, kind)
    if not kinds:
        raise CheckpointError(f"{name}: not an NLSN model (no body.* keys)")
    last = max(kinds)
    if kinds[last] != "conv" or sorted(kinds) != list(range(last + 1)):
        raise CheckpointError(f"{name}: the body layers are not laid out as in NLSN (body.0 .. body.{last})")
    n_resblocks = sum(1 for k in kinds.values() if k == "res")
    nlsa = [i for i, k in kinds.items() if k == "nlsa"]
    use_nlsa = bool(nlsa)
    if use_nlsa and sorted(nlsa) != nlsa_positions(n_resblocks):
        raise CheckpointError(
            f"{name}: sparse attention at body {sorted(nlsa)}, but NLSN with {n_resblocks} blocks "
            f"places it at {nlsa_positions(n_resblocks)}"
        )

    reduction = 4
    if use_nlsa:
        match = state.get(f"body.{nlsa[0]}.conv_match.0.weight")
        if match is None or match.ndim != 4 or match.shape[0] == 0 or n_feats % match.shape[0]:
            raise CheckpointError(f"{name}: body.{nlsa[0]}.conv_match.0.weight has an unexpected shape")
        reduction = n_feats // int(match.shape[0])

    if "tail.0.2.weight" in state:
        scale = 4
    elif "tail.0.0.weight" in state:
        ratio = int(state["tail.0.0.weight"].shape[0]) // max(n_feats, 1)
        scale = {4: 2, 9: 3}.get(ratio, 0)
        if not scale:
            raise CheckpointError(
                f"{name}: tail.0.0.weight has {state['tail.0.0.weight'].shape[0]} outputs; "
                f"expected {4 * n_feats} (x2) or {9 * n_feats} (x3)"
            )
    else:
        raise CheckpointError(f"{name}: not an NLSN model (no upsampler tail.0.0.weight)")
    return NLSNConfig(n_feats=n_feats, n_resblocks=n_resblocks, scale=scale, reduction=reduction, use_nlsa=use_nlsa)


def load_state_strict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], *, name: str) -> None:
    """Strict load that names every missing, unexpected or mis-shaped key when it does not fit."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_list(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_list(unexpected)}")
    if shapes:
        problems.append(f"wrong shapes: {_list(shapes)}")
    if problems:
        raise CheckpointError(f"{name}: does not fit the model ({'; '.join(problems)})")
    model.load_state_dict(state, strict=True)


# --------------------------------------------------------------------------- released .pt files


def _unwrap(obj: Any, *, name: str) -> dict[str, torch.Tensor]:
    """Released files are plain state dicts; accept the usual wrappers and DataParallel prefixes."""
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"{name}: holds no state dict (found {type(obj).__name__})")
    state = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{name}: entry {key!r} is not a tensor; this is not a plain state dict")
        state[key.removeprefix("module.")] = value
    return state


def _unsafe_reason(err: Exception) -> str:
    """Turn torch's weights_only refusal into the name of what the pickle wanted to call."""
    text = str(err)
    m = re.search(r"GLOBAL\s+([\w.]+)", text, flags=re.IGNORECASE)
    if m:
        return f"loading it would call {m.group(1)}, which a plain checkpoint never does"
    return "it holds pickled objects other than tensors"


def read_released_state(path: Path) -> dict[str, torch.Tensor]:
    """torch.load with weights_only=True: tensors and plain containers only, never code."""
    name = path.name
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as err:
        raise CheckpointError(f"{name}: cannot be read ({err.strerror or err})") from None
    # torch.save writes a zip archive (PK..) or, in old versions, a raw pickle (protocol >= 2: 0x80).
    if not (magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80"):
        raise CheckpointError(f"{name}: not a PyTorch checkpoint (unrecognised content)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pickle-protocol chatter; errors are handled below
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights_only" in str(err).lower() or "unsupported global" in str(err).lower():
            raise CheckpointError(
                f"{name}: refused: {_unsafe_reason(err)}; nothing was executed"
            ) from None
        raise CheckpointError(f"{name}: not a PyTorch checkpoint (unreadable pickle)") from None
    except (EOFError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{name}: file is empty or truncated ({type(err).__name__})") from None
    except RuntimeError as err:
        msg = str(err)
        if "zip" in msg.lower() or "central directory" in msg.lower() or "failed finding" in msg.lower():
            raise CheckpointError(f"{name}: file is truncated or corrupt") from None
        raise CheckpointError(f"{name}: could not be read as a PyTorch checkpoint") from None
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        raise CheckpointError(f"{name}: not a PyTorch checkpoint (unrecognised content)") from None
    return _unwrap(obj, name=name)


# --------------------------------------------------------------------------- project format


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


# --------------------------------------------------------------------------- loading either


def is_project_file(path: Path) -> bool:
    return path.suffix.lower() == ".safetensors"


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
    last = load_model(paths[0])
    config, first_name = last.config, last.path.name
    total = {k: v.double() for k, v in last.model.state_dict().items() if v.is_floating_point()}
    for path in paths[1:]:
        last = load_model(path)  # the previous model is freed now: only its share of the sum stays
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
