"""The fast path (the default): strided windows over one gathered buffer, with its own backward.

Every round's sorted, padded sequence of chunks gets one extra chunk on each side (its last
chunk before the first, its first after the last: the cyclic neighbours of step 6), and the
rounds are laid end to end: T = N * R * (K + 2) chunks of k positions. The keys a query chunk
attends to (previous, own, next) are then the 3k consecutive rows around it, so the windows are
strided views of one buffer (no 3k-wide copies), and one batched matmul covers every window of
a group, across rounds and images. Windows centred on an extra chunk straddle two rounds; they
are computed (2 of every K + 2) and ignored, and their gradient is zero.

Softmax over a window does not depend on the order of its keys, so the window order
(previous, own, next) instead of the release's (own, previous, next) changes only float
rounding (tested: <= 1e-4 against the reference, forward and backward).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.attention.chunks import KEY_NORM_EPS, AttentionOutput
from core.attention.hashing import Buckets
from core.base.interrupt import checkpoint


# Window scores held at once by the fast path (elements): 2**19 floats = 2 MiB, so that a
# group's scores stay in the CPU cache between the matmul, the softmax and the second matmul.
FAST_BLOCK_SCORES = 2**19


def _windows(ext: torch.Tensor, start: int, count: int, chunk: int) -> torch.Tensor:
    """Views of ``count`` windows of 3 chunks, the first starting at chunk ``start``.

    ext: (T, k, D) contiguous -> (count, 3k, D), overlapping (no copy).
    """
    d = ext.shape[-1]
    return ext.as_strided((count, 3 * chunk, d), (chunk * d, d, 1), ext.storage_offset() + start * chunk * d)


# On a GPU, larger groups mean fewer kernel launches; 2**26 scores = 256 MiB in fp32.
FAST_BLOCK_SCORES_GPU = 2**26


def _group_size(chunk: int, block_scores: int | None, device: torch.device) -> int:
    default = FAST_BLOCK_SCORES if device.type == "cpu" else FAST_BLOCK_SCORES_GPU
    return max(1, (block_scores or default) // (3 * chunk * chunk))


class _WindowAttention(torch.autograd.Function):
    """Softmax attention of every query chunk over its window of 3 chunks, flash-style.

    Inputs (T, k, C) queries (unnormalised), (T, k, C) keys (normalised), (T, k, Cy) values;
    the queries of window j are chunk j + 1. Outputs out (T, k, Cy) and lse (T, k), defined for
    chunks 1..T-2 (chunks 0 and T-1 are zero). Scores are computed group by group and never
    stored: the backward recomputes them from the saved lse.
    """

    @staticmethod
    def forward(ctx, q, k, v, block_scores):
        t, chunk, _ = q.shape
        out = q.new_empty(t, chunk, v.shape[-1])
        # lse in fp32 also under bf16 autocast: the backward recomputes exp(score - lse), and a
        # bf16 lse (8-bit mantissa, steps of 0.125 at 20) would scale whole rows of it by ~6 %.
        lse = q.new_empty(t, chunk, dtype=torch.float32)
        for end in (0, t - 1):  # no window is centred on the first and last chunks
            out[end] = 0
            lse[end] = 0
        step = _group_size(chunk, block_scores, q.device)
        n_windows = t - 2
        for start in range(0, n_windows, step):
            g = min(step, n_windows - start)
            kw = _windows(k, start, g, chunk)  # (g, 3k, C)
            vw = _windows(v, start, g, chunk)  # (g, 3k, Cy)
            # Step 7: raw dot products (no 1/sqrt(d) scale, no self mask), as in the paper.
            scores = torch.bmm(q[start + 1:start + 1 + g], kw.transpose(1, 2))  # (g, k, 3k)
            # The maxima in fp32: exact (a bf16 value is an fp32 value), and PyTorch's bf16 amax
            # is ~3x slower than the conversion plus an fp32 amax (measured on AVX-512 BF16).
            top = scores.float().amax(dim=-1)  # (g, k)
            probs = torch.softmax(scores, dim=-1)
            del scores
            torch.bmm(probs, vw, out=out[start + 1:start + 1 + g])
            # lse = max + log(sum exp(s - max)) = max - log(largest probability)
            lse[start + 1:start + 1 + g] = top - probs.float().amax(dim=-1).log()
            checkpoint()
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.block_scores = block_scores
        return out, lse

    @staticmethod
    def backward(ctx, grad_out, grad_lse):
        q, k, v, out, lse = ctx.saved_tensors
        t, chunk, _ = q.shape
        if grad_out is None:
            grad_out = torch.zeros_like(out)
        grad_out = grad_out.contiguous()
        # d score_ij = p_ij * (dO_i . v_j - dO_i . O_i + d lse_i)
        shift = (grad_out * out).sum(dim=-1, dtype=torch.float32)  # (T, k)
        if grad_lse is not None:
            shift = shift - grad_lse
        shift = shift.to(q.dtype)  # mixed-dtype in-place ops take a slow path (4x the time)
        # probabilities = exp(q . k - lse). Under bf16 the fp32 lse rides in the matmul, split in
        # two bf16 parts (hi + lo) against two channels of ones: q . k - lse is accumulated in
        # fp32 and rounded once, and no pass over the scores subtracts it.
        qa, ka = q, k
        if lse.dtype != q.dtype:
            hi = lse.to(q.dtype)
            lo = (lse - hi.float()).to(q.dtype)
            qa = torch.cat([q, -hi.unsqueeze(-1), -lo.unsqueeze(-1)], dim=-1)  # (T, k, C+2)
            ka = torch.cat([k, k.new_ones(t, chunk, 2)], dim=-1)  # (T, k, C+2)
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        step = _group_size(chunk, ctx.block_scores, q.device)
        n_windows = t - 2
        for start in range(0, n_windows, step):
            g = min(step, n_windows - start)
            rows = slice(start + 1, start + 1 + g)
            kw = _windows(k, start, g, chunk)  # (g, 3k, C)
            vw = _windows(v, start, g, chunk)  # (g, 3k, Cy)
            qq, go = q[rows], grad_out[rows]
            probs = torch.bmm(qa[rows], _windows(ka, start, g, chunk).transpose(1, 2))  # (g, k, 3k)
            if qa is q:
                probs.sub_(lse[rows].unsqueeze(-1))
            probs.exp_()
            dvw = torch.bmm(probs.transpose(1, 2), go)  # (g, 3k, Cy)
            ds = torch.bmm(go, vw.transpose(1, 2)).sub_(shift[rows].unsqueeze(-1)).mul_(probs)  # (g, k, 3k)
            del probs
            dq[rows] += torch.bmm(ds, kw)
            dkw = torch.bmm(ds.transpose(1, 2), qq)  # (g, 3k, C)
            # Fold the windows' gradients back onto their 3 chunks (windows overlap).
            for part in range(3):
                dk[start + part:start + part + g] += dkw[:, part * chunk:(part + 1) * chunk]
                dv[start + part:start + part + g] += dvw[:, part * chunk:(part + 1) * chunk]
        return dq, dk, dv, None


def sparse_attention_fast(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int, block_scores: int | None = None
) -> AttentionOutput:
    """Steps 5-8 over strided windows of one gathered buffer; forward and backward (training).

    Same results as the reference to float rounding; memory grows with L, not with L * 3k.
    """
    n, length, c = x.shape
    cy = y.shape[-1]
    k = bk.chunk
    positions = (bk.order % length).reshape(n, n_hashes, length)  # (N, R, L) sorted slot -> pixel
    pad = (-length) % k
    if pad:  # step 5: repeat each round's own last `pad` elements, as released
        positions = torch.cat([positions, positions[..., -pad:]], dim=-1)  # (N, R, K*k)
    n_chunks = positions.shape[-1] // k
    # Step 6's cyclic neighbours as one extra chunk on each side of every round.
    ext = torch.cat([positions[..., -k:], positions, positions[..., :k]], dim=-1)  # (N, R, (K+2)*k)
    image = torch.arange(n, device=x.device).view(n, 1, 1) * length
    ext = (ext + image).reshape(-1)  # rows of x and y flattened to (N*L, .)
    xe = x.reshape(n * length, c).index_select(0, ext).reshape(-1, k, c)  # (T, k, C), T = N*R*(K+2)
    ye = y.reshape(n * length, cy).index_select(0, ext).reshape(-1, k, cy)  # (T, k, Cy)
    ke = F.normalize(xe, p=2, dim=-1, eps=KEY_NORM_EPS)
    out, lse = _WindowAttention.apply(xe, ke, ye, block_scores)  # (T, k, Cy), (T, k)
    # Step 8, undo the sort: the row of every (image, round, pixel) in the (T*k) outputs. Only
    # each round's own K chunks and first L slots are read (padded queries are dropped).
    slots = torch.empty_like(bk.order)
    slots.scatter_(1, bk.order, torch.arange(bk.order.shape[1], device=x.device).expand_as(bk.order))
    rounds = torch.arange(n * n_hashes, device=x.device).view(n, n_hashes, 1)  # (N, R, 1)
    slots = slots.reshape(n, n_hashes, length) - (rounds % n_hashes) * length  # slot within the round
    rows = (rounds * (n_chunks + 2) + 1) * k + slots  # (N, R, L)
    rows = rows.reshape(-1)
    per_round = out.reshape(-1, cy).index_select(0, rows).reshape(n, n_hashes, length, cy)  # (N, R, L, Cy)
    return AttentionOutput(rounds=per_round, lse=lse.reshape(-1).index_select(0, rows).reshape(n, n_hashes, length))
