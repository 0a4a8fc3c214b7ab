"""Steps 5-8 shared by every attention path: sort and chunk, pad, neighbours, unsort, combine rounds."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.attention.hashing import Buckets

KEY_NORM_EPS = 5e-5  # eps of the L2 normalisation of the keys, as released


def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (N, L, C), index (N, M) -> (N, M, C) with out[b, i] = values[b, index[b, i]]."""
    return values.gather(1, index.unsqueeze(-1).expand(-1, -1, values.shape[-1]))


def pad_to_chunks(seq: torch.Tensor, chunk: int) -> torch.Tensor:
    """Step 5: pad each round's sequence (N, R, L, C) to a multiple of ``chunk`` by repeating its
    own last ``pad`` elements (as released), then split: (N, R, K, k, C)."""
    n, rounds, length, channels = seq.shape
    pad = (-length) % chunk
    if pad:
        seq = torch.cat([seq, seq[:, :, -pad:, :]], dim=2)
    return seq.reshape(n, rounds, -1, chunk, channels)


def with_neighbours(chunks: torch.Tensor) -> torch.Tensor:
    """Step 6: keys of [own chunk, previous chunk, next chunk], cyclic within a round.

    (N, R, K, k, C) -> (N, R, K, 3k, C).
    """
    previous = torch.roll(chunks, shifts=1, dims=2)
    following = torch.roll(chunks, shifts=-1, dims=2)
    return torch.cat([chunks, previous, following], dim=3)


@dataclass
class AttentionOutput:
    """Per-round outputs in original order, before the rounds are combined.

    rounds: (N, R, L, Cy) attention output of each round; lse: (N, R, L) log-sum-exp of each
    query's scores in each round. ``combine_rounds`` turns them into (N, L, Cy).
    """

    rounds: torch.Tensor
    lse: torch.Tensor


def sort_and_chunk(x: torch.Tensor, y: torch.Tensor, bk: Buckets, n_hashes: int):
    """Steps 4-5 shared by the paths: (queries, keys, values) as (N, R, K, k, C|Cy), keys normalised."""
    n, length, c = x.shape
    cy = y.shape[-1]
    positions = bk.order % length  # (N, R*L) sorted slot -> pixel
    x_sorted = gather_rows(x, positions).reshape(n, n_hashes, length, c)  # (N, R, L, C)
    y_sorted = gather_rows(y, positions).reshape(n, n_hashes, length, cy)  # (N, R, L, Cy)
    queries = pad_to_chunks(x_sorted, bk.chunk)  # (N, R, K, k, C)
    values = pad_to_chunks(y_sorted, bk.chunk)  # (N, R, K, k, Cy)
    keys = F.normalize(queries, p=2, dim=-1, eps=KEY_NORM_EPS)  # (N, R, K, k, C)
    return queries, keys, values


def unsort(out: torch.Tensor, lse: torch.Tensor, bk: Buckets, n_hashes: int) -> AttentionOutput:
    """Step 8: drop padded queries and undo the sort. out (N, R, K, k, Cy), lse (N, R, K, k)."""
    n, length, cy = out.shape[0], bk.length, out.shape[-1]
    out = out.reshape(n, n_hashes, -1, cy)[:, :, :length, :].reshape(n, n_hashes * length, cy)
    lse = lse.reshape(n, n_hashes, -1)[:, :, :length].reshape(n, n_hashes * length)
    undo = torch.empty_like(bk.order)
    undo.scatter_(1, bk.order, torch.arange(bk.order.shape[1], device=out.device).expand_as(bk.order))
    out = gather_rows(out, undo).reshape(n, n_hashes, length, cy)
    lse = lse.gather(1, undo).reshape(n, n_hashes, length)
    return AttentionOutput(rounds=out, lse=lse)


def combine_rounds(att: AttentionOutput) -> torch.Tensor:
    """Step 8: weight the R rounds per position by a softmax over rounds of their lse.

    Returns (N, L, Cy) in the dtype of the rounds (the lse may be fp32 under a lower precision).
    """
    probs = torch.softmax(att.lse, dim=1).unsqueeze(-1)  # (N, R, L, 1)
    # Accumulated round by round: no (N, R, L, Cy) temporary.
    out = att.rounds[:, 0] * probs[:, 0]
    for r in range(1, probs.shape[1]):
        out.addcmul_(att.rounds[:, r], probs[:, r])
    return out.to(att.rounds.dtype)
