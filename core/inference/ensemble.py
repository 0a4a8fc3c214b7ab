"""The x8 self-ensemble: the 8 dihedral transforms of an image and their inverses."""

from __future__ import annotations

import torch

ENSEMBLE_PASSES = 8


def transform(x: torch.Tensor, t: int) -> torch.Tensor:
    """One of the 8 dihedral transforms of an (N, C, H, W) tensor."""
    if t & 1:
        x = x.flip(-1)
    if t & 2:
        x = x.flip(-2)
    if t & 4:
        x = x.transpose(-1, -2)
    return x


def untransform(x: torch.Tensor, t: int) -> torch.Tensor:
    if t & 4:
        x = x.transpose(-1, -2)
    if t & 2:
        x = x.flip(-2)
    if t & 1:
        x = x.flip(-1)
    return x
