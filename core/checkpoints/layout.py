"""What a state dict says about its network: the configuration read off its keys and shapes, and
the strict load that names every key that does not fit."""

from __future__ import annotations

import re
from typing import Mapping

import torch

from core.base.errors import CheckpointError
from core.network import NLSNConfig, nlsa_positions

MAX_LISTED = 6  # how many offending keys a message names before "and N more"


_BODY_KEY = re.compile(r"^body\.(\d+)\.(.+)$")


def list_keys(keys: list[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED])
    more = len(keys) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def infer_config(state: Mapping[str, torch.Tensor], *, name: str = "checkpoint") -> NLSNConfig:
    """Read features, blocks, NLSA layout and scale off the keys and shapes of a state dict.

    What the weights do not say (R = 4, k = 144, res_scale 0.1) takes the paper's values.
    """
    if "head.0.weight" not in state:
        raise CheckpointError(f"{name}: not an NLSN model (no head.0.weight; keys start {list_keys(list(state))})")
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
        problems.append(f"missing keys: {list_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {list_keys(unexpected)}")
    if shapes:
        problems.append(f"wrong shapes: {list_keys(shapes)}")
    if problems:
        raise CheckpointError(f"{name}: does not fit the model ({'; '.join(problems)})")
    model.load_state_dict(state, strict=True)
