"""The reference path: steps 5-8 materialising every chunk's scores at once, like the release.

A readable, step-by-step computation that matches the released implementation (with a stable
sort) to float precision; every faster path is tested against it.
"""

from __future__ import annotations

import torch

from core.attention.chunks import AttentionOutput, sort_and_chunk, unsort, with_neighbours
from core.attention.hashing import Buckets


def sparse_attention_reference(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int
) -> AttentionOutput:
    """Steps 5-8 (before the round combination), materialising all chunk scores like the release.

    x: (N, L, C) match embedding (queries unnormalised, keys normalised); y: (N, L, Cy) assembly.
    """
    queries, keys, values = sort_and_chunk(x, y, bk, n_hashes)  # (N, R, K, k, C|Cy)
    keys = with_neighbours(keys)  # (N, R, K, 3k, C)
    values = with_neighbours(values)  # (N, R, K, 3k, Cy)

    # Step 7: raw dot products, no 1/sqrt(d) scale and no self mask (as in the paper).
    scores = torch.einsum("bhkie,bhkje->bhkij", queries, keys)  # (N, R, K, k, 3k)
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # (N, R, K, k, 1)
    weights = torch.exp(scores - lse)
    out = torch.einsum("bukij,bukje->bukie", weights, values)  # (N, R, K, k, Cy)
    return unsort(out, lse.squeeze(-1), bk, n_hashes)
