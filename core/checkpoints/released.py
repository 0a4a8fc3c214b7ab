"""The authors' released ``.pt`` files: ``torch.load(weights_only=True)``, never code.

``weights_only`` refuses any pickle that names a callable; the refusal is turned into one line that
says what the file wanted to call.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

from core.base.errors import CheckpointError

# Keys some training scripts wrap a state dict in.
WRAPPER_KEYS = ("state_dict", "model", "params_ema", "params", "model_state_dict")  # EMA weights first (BasicSR)


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
