"""The attention of a whole image at once: per module and round, how balanced the buckets are, how
far the attention reaches and how much of it is non-local, over EVERY query pixel.

The weights are recomputed from the capture by steps 5-8 of the sparse attention (as
:func:`core.inspection.query.query_attention` does for one query), vectorised over all queries of a
round in float64: (K, k, 3k) scores per round, never an (L, L) matrix. Statistics that are
expectations under a query's weights (distance, non-local share) combine over rounds by the rounds'
probabilities p_r exactly as the weights do (step 8), so the "all rounds" row is exact too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from core.attention import KEY_NORM_EPS
from core.inspection.buckets import bucket_sizes, round_sequence
from core.inspection.capture import Inspection, ModuleCapture
from core.inspection.query import DEFAULT_LOCAL_RADIUS

ALL_ROUNDS = -1  # the row of the rounds combined (step 8)
BLOCK_ELEMENTS = 2**18  # attention weights computed at a time (B * k * 3k)


@dataclass
class RoundStats:
    """One module and round (``round`` = ALL_ROUNDS: combined), averaged over all query pixels."""

    module: int  # 0-based NLSA module number
    body_position: int
    round: int
    buckets: int  # m
    chunk: int  # k
    balance: float  # entropy of the bucket sizes / log(m): 1 when every bucket holds L / m pixels
    largest_bucket: float  # share of the pixels in the largest bucket
    empty_buckets: float  # buckets with no pixel
    mean_distance: float  # LR pixels from a query to its keys, weighted by attention
    nonlocal_share: float  # weight outside the (2 * radius + 1)^2 window around the query

    def row(self) -> dict:
        d = asdict(self)
        d["round"] = "all" if self.round == ALL_ROUNDS else self.round + 1
        d["module"] = self.module + 1
        return d


@dataclass
class _QueryRound:
    """Per-query expectations under one round's weights: (L,) each, and the round's lse (L,)."""

    distance: np.ndarray
    nonlocal_share: np.ndarray
    lse: np.ndarray


def _round_queries(capture: ModuleCapture, round_: int, local_radius: int) -> _QueryRound:
    """Steps 5-7 for every query of round r (float64), a block of chunks at a time."""
    k, length, w = capture.chunk, capture.length, capture.width
    seq = round_sequence(capture, round_)  # (L,) pixel of each sorted slot
    pad = (-length) % k
    if pad:
        seq = np.concatenate([seq, seq[-pad:]])  # step 5: the round's last `pad` elements repeated
    n_chunks = seq.size // k  # K
    feats = capture.x.to(torch.float64)  # (L, C)
    keys_all = feats / feats.norm(dim=-1, keepdim=True).clamp_min(KEY_NORM_EPS)  # step 6: normalised keys
    chunk_pixels = torch.from_numpy(seq).long().view(n_chunks, k)  # (K, k)
    own = torch.arange(n_chunks)
    neighbours = torch.stack([own, (own - 1) % n_chunks, (own + 1) % n_chunks], dim=1)  # (K, 3)
    key_pixels = chunk_pixels[neighbours].reshape(n_chunks, 3 * k)  # (K, 3k)
    pixels = torch.arange(length)
    pixel_yx = torch.stack([pixels // w, pixels % w], dim=-1).to(torch.float64)  # (L, 2)

    distance = torch.empty(n_chunks, k, dtype=torch.float64)  # (K, k)
    nonlocal_share = torch.empty(n_chunks, k, dtype=torch.float64)
    lse = torch.empty(n_chunks, k, dtype=torch.float64)
    step = max(1, BLOCK_ELEMENTS // (3 * k * k))  # chunks at a time: temporaries of a few MB stay in cache
    for first in range(0, n_chunks, step):
        block = slice(first, min(first + step, n_chunks))
        q_pix, k_pix = chunk_pixels[block], key_pixels[block]  # (B, k), (B, 3k)
        # Step 7: raw dot products of the unnormalised queries with the normalised keys, no scale.
        scores = torch.einsum("nqc,nkc->nqk", feats[q_pix], keys_all[k_pix])  # (B, k, 3k)
        block_lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # (B, k, 1)
        weights = torch.exp(scores - block_lse)  # (B, k, 3k)
        delta = (pixel_yx[k_pix].unsqueeze(1) - pixel_yx[q_pix].unsqueeze(2)).abs()  # (B, k, 3k, 2)
        distance[block] = (weights * torch.linalg.vector_norm(delta, dim=-1)).sum(-1)
        near = (delta <= local_radius).all(dim=-1)  # (B, k, 3k): inside the query's window
        nonlocal_share[block] = (1.0 - (weights * near).sum(-1)).clamp_min(0.0)
        lse[block] = block_lse[..., 0]

    # Back to pixel order: each pixel's own (unpadded) slot is among the first L slots.
    def per_pixel(values: torch.Tensor) -> np.ndarray:
        out = np.empty(length)
        out[seq[:length]] = values.reshape(-1)[:length].numpy()
        return out

    return _QueryRound(per_pixel(distance), per_pixel(nonlocal_share), per_pixel(lse))


def _bucket_stats(capture: ModuleCapture, round_: int) -> tuple[float, float, float]:
    sizes = bucket_sizes(capture, round_).astype(np.float64)  # (m,)
    m = sizes.size
    p = sizes / sizes.sum()
    positive = p[p > 0]
    balance = float(-np.sum(positive * np.log(positive)) / np.log(m)) if m > 1 else 1.0
    return balance, float(p.max()), float(np.sum(sizes == 0))


def module_stats(capture: ModuleCapture, *, local_radius: int = DEFAULT_LOCAL_RADIUS,
                 check: Callable[[], None] | None = None) -> list[RoundStats]:
    """A row per round of ``capture`` and one of the rounds combined (round = ALL_ROUNDS);
    ``check()`` is called between rounds (it raises to stop)."""
    rounds = []
    for r in range(capture.n_hashes):
        if check is not None:
            check()
        rounds.append(_round_queries(capture, r, local_radius))
    m = max(capture.buckets.buckets, 1)

    def stats(round_: int, distance, share, buckets) -> RoundStats:
        balance, largest, empty = buckets
        return RoundStats(module=capture.index, body_position=capture.body_position, round=round_, buckets=m,
                          chunk=capture.chunk, balance=balance, largest_bucket=largest, empty_buckets=empty,
                          mean_distance=float(np.mean(distance)), nonlocal_share=float(np.mean(share)))

    rows = [stats(r, q.distance, q.nonlocal_share, _bucket_stats(capture, r)) for r, q in enumerate(rounds)]
    # Step 8: p_r = softmax over rounds of each query's lse; expectations mix with the same p_r.
    lse = np.stack([q.lse for q in rounds])  # (R, L)
    probs = np.exp(lse - lse.max(axis=0, keepdims=True))
    probs /= probs.sum(axis=0, keepdims=True)  # (R, L)
    mix = lambda name: np.sum(probs * np.stack([getattr(q, name) for q in rounds]), axis=0)  # noqa: E731
    buckets = tuple(float(np.mean([getattr(r, f) for r in rows])) for f in ("balance", "largest_bucket", "empty_buckets"))
    rows.append(stats(ALL_ROUNDS, mix("distance"), mix("nonlocal_share"), buckets))
    return rows


def overview_stats(inspection: Inspection, *, local_radius: int = DEFAULT_LOCAL_RADIUS,
                   check: Callable[[], None] | None = None) -> list[RoundStats]:
    """Every module of an inspected forward: its rounds' rows, then its combined row."""
    return [row for capture in inspection.modules
            for row in module_stats(capture, local_radius=local_radius, check=check)]


CSV_FIELDS = ("module", "body_position", "round", "buckets", "chunk", "balance", "largest_bucket", "empty_buckets",
              "mean_distance", "nonlocal_share")


def stats_csv(rows: list[RoundStats]) -> str:
    """The rows as CSV text (a header, then one line per module and round; round "all": combined)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        d = row.row()
        writer.writerow({key: (f"{d[key]:.6g}" if isinstance(d[key], float) else d[key]) for key in CSV_FIELDS})
    return out.getvalue()


def small_multiples(tiles: list[list[np.ndarray]], *, gap: int = 2, background: int = 255) -> np.ndarray:
    """(H', W', 3) uint8: rows of equally sized (H, W, 3 or 4) tiles with ``gap`` pixels between
    them (RGBA is composited over the background), e.g. modules x rounds of bucket maps."""
    h, w = tiles[0][0].shape[:2]
    cols = max(len(row) for row in tiles)
    out = np.full((len(tiles) * (h + gap) - gap, cols * (w + gap) - gap, 3), background, dtype=np.uint8)
    for i, row in enumerate(tiles):
        for j, tile in enumerate(row):
            rgb = tile[..., :3].astype(np.float64)
            if tile.shape[-1] == 4:
                alpha = tile[..., 3:4] / 255.0
                rgb = rgb * alpha + background * (1.0 - alpha)
            out[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = np.round(rgb)
    return out
