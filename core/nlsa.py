"""Non-Local Sparse Attention (NLSA), Mei et al., CVPR 2021.

This is the *reference path*: a readable, step-by-step computation that matches the released
implementation (with a stable sort) to float precision. Faster paths must be tested against it.
Step numbers in comments refer to ``shared/spec/nlsn-reference.md``.

Shapes: N batch, C channels of the match embedding (= channels // reduction), L = H * W positions,
R hash rounds, m hash buckets, k chunk size, K = number of chunks per round.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Paper's defaults (spec "Non-Local Sparse Attention").
DEFAULT_N_HASHES = 4
DEFAULT_CHUNK_SIZE = 144
DEFAULT_REDUCTION = 4
KEY_NORM_EPS = 5e-5  # eps of the L2 normalisation of the keys, as released
MAX_BUCKETS = 128


def n_buckets(length: int, chunk_size: int) -> int:
    """Number of hash buckets m for a sequence of ``length`` positions (step 2).

    ``L // k`` rounded up to an even number, capped at 128. Zero when L < k: the released code
    crashes there; we fall back to dense attention (see :func:`effective_chunk_size`).
    """
    n = length // chunk_size
    return min(n + n % 2, MAX_BUCKETS)


def effective_chunk_size(length: int, chunk_size: int) -> int:
    """Chunk size actually used: ``chunk_size``, or L itself when the input is smaller than a chunk."""
    return chunk_size if length >= chunk_size else length


def draw_rotations(
    *,
    channels: int,
    n_hashes: int,
    buckets: int,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Random rotations for spherical LSH (step 3), shape (1, C, R, m/2).

    Reproducibility contract: always drawn in float32 on the CPU (from ``generator`` or the global
    CPU RNG) and then moved, so the same seed gives the same buckets on every device, and a
    generator seeded with s gives the draws that ``torch.manual_seed(s)`` gives the released code.
    """
    shape = (1, channels, n_hashes, buckets // 2)
    rotations = torch.randn(shape, generator=generator, dtype=torch.float32, device="cpu")
    return rotations.to(device=device, dtype=dtype)


def hash_codes(x: torch.Tensor, rotations: torch.Tensor, buckets: int) -> torch.Tensor:
    """Bucket of every position in every round, offset by ``r * m`` (step 3).

    x: (N, L, C) unnormalised match embedding; rotations: (1, C, R, m/2).
    Returns (N, R, L) int64 codes in ``[r*m, (r+1)*m)`` for round r.
    """
    n, length, channels = x.shape
    n_hashes, half = rotations.shape[2], rotations.shape[3]
    # The matmul the released einsum("btf,bfhi->bhti") runs (bitwise the same projections), kept
    # in its (N, L, R, m/2) layout so that the reductions below run over contiguous rows.
    flat = rotations.reshape(1, channels, n_hashes * half).expand(n, -1, -1)  # (N, C, R*m/2)
    rotated = torch.bmm(x, flat).view(n, length, n_hashes, half)  # (N, L, R, m/2)
    # argmax over [rotated, -rotated] (m values) without building it: the first maximum of
    # `rotated` unless -min is strictly larger (then m/2 + the first minimum); ties resolve to the
    # first index, exactly as argmax over the concatenation does.
    top, top_at = rotated.max(dim=-1)  # (N, L, R)
    low, low_at = rotated.min(dim=-1)  # (N, L, R)
    codes = torch.where(-low > top, low_at + half, top_at).transpose(1, 2)  # (N, R, L)
    offsets = torch.arange(n_hashes, device=x.device).view(1, -1, 1) * buckets
    return codes + offsets


@dataclass
class Buckets:
    """The hashing outcome of one NLSA forward (what the inspector shows).

    codes: (N, R, L) bucket id per round (without the round offset, 0..m-1).
    order: (N, R*L) sorted position -> flat index ``r*L + p`` (the stable sort of step 4).
    buckets: m; chunk: the chunk size used; length: L.
    """

    codes: torch.Tensor
    order: torch.Tensor
    buckets: int
    chunk: int
    length: int


def compute_buckets(
    x: torch.Tensor,
    *,
    n_hashes: int,
    chunk_size: int,
    generator: torch.Generator | None,
) -> Buckets:
    """Steps 2-4: hash every position of x (N, L, C) in R rounds and sort stably."""
    n, length, channels = x.shape
    buckets = n_buckets(length, chunk_size)
    chunk = effective_chunk_size(length, chunk_size)
    if buckets == 0:
        # L < k: one chunk of all L positions; every bucket is 0 (plus the round offset, as in
        # the hashed case) and the sort is the identity.
        rounds = torch.arange(n_hashes, device=x.device).view(1, -1, 1)
        codes = rounds.expand(n, n_hashes, length).contiguous()
    else:
        rotations = draw_rotations(
            channels=channels,
            n_hashes=n_hashes,
            buckets=buckets,
            generator=generator,
            device=x.device,
            dtype=x.dtype,
        )
        codes = hash_codes(x.detach(), rotations, buckets)  # (N, R, L), offset per round
    flat = codes.reshape(n, -1)  # (N, R*L)
    # Step 4: stable, so ties (same bucket) keep raster order.
    _, order = torch.sort(flat, dim=-1, stable=True)
    offsets = torch.arange(n_hashes, device=x.device).view(1, -1, 1) * max(buckets, 1)
    return Buckets(codes=codes - offsets, order=order, buckets=buckets, chunk=chunk, length=length)


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


def _sort_and_chunk(x: torch.Tensor, y: torch.Tensor, bk: Buckets, n_hashes: int):
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


def _unsort(out: torch.Tensor, lse: torch.Tensor, bk: Buckets, n_hashes: int) -> AttentionOutput:
    """Step 8: drop padded queries and undo the sort. out (N, R, K, k, Cy), lse (N, R, K, k)."""
    n, length, cy = out.shape[0], bk.length, out.shape[-1]
    out = out.reshape(n, n_hashes, -1, cy)[:, :, :length, :].reshape(n, n_hashes * length, cy)
    lse = lse.reshape(n, n_hashes, -1)[:, :, :length].reshape(n, n_hashes * length)
    undo = torch.empty_like(bk.order)
    undo.scatter_(1, bk.order, torch.arange(bk.order.shape[1], device=out.device).expand_as(bk.order))
    out = gather_rows(out, undo).reshape(n, n_hashes, length, cy)
    lse = lse.gather(1, undo).reshape(n, n_hashes, length)
    return AttentionOutput(rounds=out, lse=lse)


def sparse_attention_reference(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int
) -> AttentionOutput:
    """Steps 5-8 (before the round combination), materialising all chunk scores like the release.

    x: (N, L, C) match embedding (queries unnormalised, keys normalised); y: (N, L, Cy) assembly.
    """
    queries, keys, values = _sort_and_chunk(x, y, bk, n_hashes)  # (N, R, K, k, C|Cy)
    keys = with_neighbours(keys)  # (N, R, K, 3k, C)
    values = with_neighbours(values)  # (N, R, K, 3k, Cy)

    # Step 7: raw dot products, no 1/sqrt(d) scale and no self mask (as in the paper).
    scores = torch.einsum("bhkie,bhkje->bhkij", queries, keys)  # (N, R, K, k, 3k)
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # (N, R, K, k, 1)
    weights = torch.exp(scores - lse)
    out = torch.einsum("bukij,bukje->bukie", weights, values)  # (N, R, K, k, Cy)
    return _unsort(out, lse.squeeze(-1), bk, n_hashes)


# Scores held at once by the blocked path (elements); 2**23 floats = 32 MiB.
BLOCK_SCORES = 2**23


def sparse_attention_blocked(
    x: torch.Tensor, y: torch.Tensor, bk: Buckets, *, n_hashes: int, block_scores: int | None = None
) -> AttentionOutput:
    """Steps 5-8 over groups of chunks: the same scores as the reference, never all at once.

    Each group gathers its own chunks' neighbours (own, previous, next: the reference's order)
    instead of concatenating 3k-wide copies of every key and value, so memory stays bounded by
    ``block_scores`` and a long image can be interrupted between groups (:mod:`core.interrupt`).
    """
    from core.interrupt import checkpoint

    queries, keys, values = _sort_and_chunk(x, y, bk, n_hashes)
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
    return _unsort(torch.cat(outs, dim=2), torch.cat(lses, dim=2), bk, n_hashes)


def _cpu_flash_available() -> bool:
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
    from core.interrupt import checkpoint

    queries, keys, values = _sort_and_chunk(x, y, bk, n_hashes)
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
    return _unsort(torch.cat(outs, dim=2), torch.cat(lses, dim=2).to(x.dtype), bk, n_hashes)


# --------------------------------------------------------------------------- the fast path
#
# Every round's sorted, padded sequence of chunks gets one extra chunk on each side (its last
# chunk before the first, its first after the last: the cyclic neighbours of step 6), and the
# rounds are laid end to end: T = N * R * (K + 2) chunks of k positions. The keys a query chunk
# attends to (previous, own, next) are then the 3k consecutive rows around it, so the windows are
# strided views of one buffer (no 3k-wide copies), and one batched matmul covers every window of
# a group, across rounds and images. Windows centred on an extra chunk straddle two rounds; they
# are computed (2 of every K + 2) and ignored, and their gradient is zero.
#
# Softmax over a window does not depend on the order of its keys, so the window order
# (previous, own, next) instead of the release's (own, previous, next) changes only float
# rounding (tested: <= 1e-4 against the reference, forward and backward).

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
        from core.interrupt import checkpoint

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


class NonLocalSparseAttention(nn.Module):
    """One NLSA module; state-dict keys ``conv_match.0.*`` and ``conv_assembly.0.*`` as released.

    ``forward(x, generator=None)``: the rotations of this call are drawn from ``generator`` (a CPU
    ``torch.Generator``) or from the global CPU RNG when none is given.
    """

    def __init__(
        self,
        channels: int,
        n_hashes: int = DEFAULT_N_HASHES,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        reduction: int = DEFAULT_REDUCTION,
        res_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if channels % reduction:
            raise ValueError(f"channels ({channels}) must be divisible by reduction ({reduction})")
        self.channels = channels
        self.n_hashes = n_hashes
        self.chunk_size = chunk_size
        self.reduction = reduction
        self.res_scale = res_scale
        # "auto" = "fast" (strided windows, custom backward; CPU and CUDA, training and
        # inference). "reference" holds all scores at once like the release; "blocked" and
        # "flash-cpu" (PyTorch's fused CPU kernel, inference only) are kept for comparison.
        # All give the same results to float rounding (tested).
        self.impl = "auto"
        # Step 1: match embedding 3x3 (theta = phi), assembly embedding 1x1; no activation.
        # Wrapped in Sequential so the keys are conv_match.0.* / conv_assembly.0.* as released.
        self.conv_match = nn.Sequential(nn.Conv2d(channels, channels // reduction, 3, padding=1))
        self.conv_assembly = nn.Sequential(nn.Conv2d(channels, channels, 1))

    def embed(self, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inp (N, C, H, W) -> match x (N, L, C/r) and assembly y (N, L, C), both contiguous.

        The paths gather whole rows (positions) of x and y; rows of a transposed view would put
        each channel on its own cache line, which made the gathers 4-15x slower once the image
        outgrew the cache. The 1x1 assembly conv is the same product as a linear map over the
        channels (to float rounding, tested), which writes (N, L, C) directly instead of a copy.
        """
        x = self.conv_match(inp).flatten(2).transpose(1, 2).contiguous()  # (N, L, C/r)
        assembly = self.conv_assembly[0]
        weight = assembly.weight.flatten(1)  # (C, C, 1, 1) -> (C, C)
        y = F.linear(inp.flatten(2).transpose(1, 2), weight, assembly.bias)  # (N, L, C)
        return x, y

    def hash(self, x: torch.Tensor, generator: torch.Generator | None = None) -> Buckets:
        return compute_buckets(
            x, n_hashes=self.n_hashes, chunk_size=self.chunk_size, generator=generator
        )

    def attend(self, x: torch.Tensor, y: torch.Tensor, bk: Buckets) -> torch.Tensor:
        """Sparse attention (steps 5-8) -> (N, L, C) by ``self.impl``."""
        impl = self.impl
        if impl == "auto":
            impl = "fast"  # the fastest everywhere we measured (docs/performance.md)
        paths = {"reference": sparse_attention_reference, "blocked": sparse_attention_blocked,
                 "flash-cpu": sparse_attention_flash_cpu, "fast": sparse_attention_fast}
        if impl not in paths:
            raise ValueError(f"unknown attention path {impl!r}; choose auto or one of {', '.join(paths)}")
        if impl == "flash-cpu" and not _cpu_flash_available():
            raise ValueError("attention path 'flash-cpu' needs a PyTorch with the fused CPU flash-attention kernel")
        att = paths[impl](x, y, bk, n_hashes=self.n_hashes)
        return combine_rounds(att)

    def forward(self, inp: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, h, w = inp.shape
        x, y = self.embed(inp)
        if torch.is_autocast_enabled(inp.device.type):
            # Mixed-precision training (TrainConfig.precision "bf16"): the projection that picks
            # each position's bucket runs in fp32. In bf16 (8-bit mantissa) near-equal projections
            # round to ties, and argmax would resolve every tie towards the lower bucket.
            with torch.autocast(inp.device.type, enabled=False):
                bk = self.hash(x.float(), generator)
        else:
            bk = self.hash(x, generator)
        out = self.attend(x, y, bk)  # (N, L, C)
        out = out.transpose(1, 2).reshape(n, -1, h, w)
        # Step 9.
        return out * self.res_scale + inp
