"""The inference path: rounds in turn, windows gathered group by group, rounds combined online.

Steps 5-8 as the fast path computes them (the same windows of the same gathered rows, the same
raw scores, softmax and log-sum-exp), but without its buffers of every round at once: no
(R * L, C) gathered copies of x and y, no (R, L, Cy) per-round outputs. Each group of windows
gathers its own rows of x and y, and its outputs go straight into the result with step 8's
softmax over rounds done online (running maximum and sum of exp(lse) per position, the result
rescaled when the maximum grows), which is the same weighting to float rounding.

Memory beyond x and y: the (N, L, Cy) result in fp32 and two (N, L) running statistics; on a
1000 x 1000 image this is what lets a whole-image upscale stay under 2 GiB (docs/performance.md).
No backward: training uses the fast path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.attention.chunks import KEY_NORM_EPS
from core.attention.fast import _group_size, _windows
from core.attention.hashing import Buckets
from core.base.interrupt import checkpoint

# Windows per group on a CPU: 4x the fast path's, since every group pays for its own gathers.
STREAMED_BLOCK_SCORES = 2**21


@torch.no_grad()
def sparse_attention_streamed(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int, block_scores: int | None = None
) -> torch.Tensor:
    """x (N, L, C), y (N, L, Cy) -> the combined attention output (N, L, Cy), in y's dtype."""
    n, length, c = x.shape
    cy = y.shape[-1]
    k = bk.chunk
    positions = (bk.order % length).reshape(n, n_hashes, length)  # (N, R, L) sorted slot -> pixel
    pad = (-length) % k
    n_chunks = (length + pad) // k
    step = _group_size(k, block_scores or (STREAMED_BLOCK_SCORES if x.device.type == "cpu" else None), x.device)
    out = torch.zeros(n, length, cy, dtype=torch.float32, device=x.device)  # sum of w_r * out_r
    best = torch.full((n, length), float("-inf"), dtype=torch.float32, device=x.device)  # max_r lse_r
    total = torch.zeros(n, length, dtype=torch.float32, device=x.device)  # sum of w_r
    for b in range(n):
        xb, yb, acc, top_b, sum_b = x[b], y[b], out[b], best[b], total[b]
        for r in range(n_hashes):
            seq = positions[b, r]  # (L,)
            if pad:  # step 5: repeat the round's own last `pad` elements, as released
                seq = torch.cat([seq, seq[-pad:]])
            ext = torch.cat([seq[-k:], seq, seq[:k]])  # step 6's cyclic neighbours: ((K + 2) * k,)
            for start in range(0, n_chunks, step):
                g = min(step, n_chunks - start)
                rows = ext[start * k:(start + g + 2) * k]  # the group's key chunks: ((g + 2) * k,)
                keys_x = xb.index_select(0, rows).view(g + 2, k, c)
                queries = keys_x[1:g + 1]  # (g, k, C): chunk j's queries are window j's middle
                keys = F.normalize(keys_x, p=2, dim=-1, eps=KEY_NORM_EPS)
                values = yb.index_select(0, rows).view(g + 2, k, cy)
                # Step 7, as the fast path: raw scores, their softmax, the lse from the maxima.
                scores = torch.bmm(queries, _windows(keys, 0, g, k).transpose(1, 2))  # (g, k, 3k)
                peak = scores.float().amax(dim=-1)  # (g, k)
                probs = torch.softmax(scores, dim=-1)
                del scores
                result = torch.bmm(probs, _windows(values, 0, g, k)).reshape(g * k, cy)  # (g*k, Cy)
                lse = (peak - probs.float().amax(dim=-1).log()).reshape(g * k)
                del probs
                # Step 8: padded queries dropped; each pixel once per round.
                valid = min(g * k, length - start * k)
                pixels = rows[k:k + valid]
                result, lse = result[:valid].float(), lse[:valid]
                old = top_b.index_select(0, pixels)
                new = torch.maximum(old, lse)
                keep, weight = torch.exp(old - new), torch.exp(lse - new)
                sum_b.index_copy_(0, pixels, sum_b.index_select(0, pixels).mul_(keep).add_(weight))
                acc.index_copy_(0, pixels, acc.index_select(0, pixels).mul_(keep.unsqueeze(-1))
                                .addcmul_(result, weight.unsqueeze(-1)))
                top_b.index_copy_(0, pixels, new)
                checkpoint()
    out.div_(total.unsqueeze(-1))
    return out.to(y.dtype)
