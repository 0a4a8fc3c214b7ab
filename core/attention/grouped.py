"""Two more paths kept for comparison (``benchmarks/attention.py``): groups of chunks, and
PyTorch's fused CPU flash-attention kernel. Both give the reference's numbers to float rounding."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.attention.chunks import AttentionOutput, sort_and_chunk, unsort
from core.attention.hashing import Buckets
from core.base.interrupt import checkpoint


BLOCK_SCORES = 2**23


def sparse_attention_blocked(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int, block_scores: int | None = None
) -> AttentionOutput:
    """Steps 5-8 over groups of chunks: the same scores as the reference, never all at once.

    Each group gathers its own chunks' neighbours (own, previous, next: the reference's order)
    instead of concatenating 3k-wide copies of every key and value, so memory stays bounded by
    ``block_scores`` and a long image can be interrupted between groups (:mod:`core.base.interrupt`).
    """
    queries, keys, values = sort_and_chunk(x, y, bk, n_hashes)
    n, rounds, n_chunks, k, _ = queries.shape
    per_chunk = n * rounds * k * 3 * k
    step = max(1, min(n_chunks, (block_scores or BLOCK_SCORES) // per_chunk))
    outs, lses = [], []
    for start in range(0, n_chunks, step):
        stop = min(start + step, n_chunks)
        own = torch.arange(start, stop, device=x.device)
        neighbours = torch.stack([own, (own - 1) % n_chunks, (own + 1) % n_chunks], dim=1)  # (b, 3)
        kk = keys[:, :, neighbours].flatten(3, 4)  # (N, R, b, 3k, C)
        vv = values[:, :, neighbours].flatten(3, 4)  # (N, R, b, 3k, Cy)
        q = queries[:, :, start:stop]  # (N, R, b, k, C)
        scores = torch.einsum("bhkie,bhkje->bhkij", q, kk)  # (N, R, b, k, 3k)
        lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # (N, R, b, k, 1)
        outs.append(torch.einsum("bukij,bukje->bukie", torch.exp(scores - lse), vv))  # (N, R, b, k, Cy)
        lses.append(lse.squeeze(-1))
        del scores
        checkpoint()
    return unsort(torch.cat(outs, dim=2), torch.cat(lses, dim=2), bk, n_hashes)


def cpu_flash_available() -> bool:
    return hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu")


def sparse_attention_flash_cpu(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int, block_scores: int | None = None
) -> AttentionOutput:
    """Steps 5-8 with PyTorch's fused CPU flash-attention kernel, in groups of chunks.

    The kernel computes softmax(q k^T * 1) v and the log-sum-exp without materialising the
    scores, forward and backward. It wants one head size for q, k and v, so the C-channel match
    embedding is zero-padded to Cy (zeros add nothing to the dot products). Same results as the
    reference to float rounding (tested).
    """
    queries, keys, values = sort_and_chunk(x, y, bk, n_hashes)
    n, rounds, n_chunks, k, c = queries.shape
    cy = values.shape[-1]
    width = max(c, cy)
    if c < width:
        queries = F.pad(queries, (0, width - c))
        keys = F.pad(keys, (0, width - c))
    if cy < width:
        values = F.pad(values, (0, width - cy))
    per_chunk = n * rounds * k * 3 * k
    step = max(1, min(n_chunks, (block_scores or BLOCK_SCORES) * 4 // per_chunk))
    outs, lses = [], []
    for start in range(0, n_chunks, step):
        stop = min(start + step, n_chunks)
        b = stop - start
        own = torch.arange(start, stop, device=x.device)
        neighbours = torch.stack([own, (own - 1) % n_chunks, (own + 1) % n_chunks], dim=1)  # (b, 3)
        q = queries[:, :, start:stop].reshape(n * rounds * b, 1, k, width)  # (NRb, 1, k, D)
        kk = keys[:, :, neighbours].reshape(n * rounds * b, 1, 3 * k, width)  # (NRb, 1, 3k, D)
        vv = values[:, :, neighbours].reshape(n * rounds * b, 1, 3 * k, width)  # (NRb, 1, 3k, D)
        # Step 7: raw dot products (scale 1, no 1/sqrt(d)), no mask, as in the paper.
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, kk, vv, 0.0, False, scale=1.0)
        outs.append(out.reshape(n, rounds, b, k, width)[..., :cy])
        lses.append(lse.reshape(n, rounds, b, k))
        checkpoint()
    return unsort(torch.cat(outs, dim=2), torch.cat(lses, dim=2).to(x.dtype), bk, n_hashes)
