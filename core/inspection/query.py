"""One query pixel: the weights the inspected forward applied to it, recomputed in float64 from the
capture by steps 5-8 of the sparse attention (:mod:`core.attention`), beside dense non-local attention.

Never builds the full (L, L) attention of the image: one query costs O(R * (L + k * C)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.attention import KEY_NORM_EPS
from core.inspection.buckets import round_codes, round_sequence
from core.inspection.capture import ModuleCapture

DEFAULT_LOCAL_RADIUS = 3


@dataclass
class QueryAttention:
    """The attention one query pixel received in the inspected forward (float64 recomputation)."""

    y: int  # query row in LR feature coordinates
    x: int  # query column
    round_weights: np.ndarray  # (R, H, W) weight of each pixel as a key, per round (sums to 1)
    round_probs: np.ndarray  # (R,) softmax over rounds of the per-round lse
    combined: np.ndarray  # (H, W) sum_r round_probs[r] * round_weights[r]
    same_bucket: np.ndarray  # (R, H, W) bool: pixels in the query's bucket
    attended: np.ndarray  # (R, H, W) bool: pixels among the query's candidate keys
    bucket_size: np.ndarray  # (R,) int
    attended_count: np.ndarray  # (R,) int distinct pixels attended
    entropy: float  # of combined, nats
    nonlocal_share: float  # combined weight outside the (2 * radius + 1)^2 window


def _normalise_keys(x: np.ndarray) -> np.ndarray:
    """Step 6: x / max(||x||_2, eps) per row, as ``F.normalize(eps=KEY_NORM_EPS)`` (float64)."""
    norms = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    return x / np.maximum(norms, KEY_NORM_EPS)


def _logsumexp(v: np.ndarray) -> float:
    top = float(np.max(v))
    return top + float(np.log(np.sum(np.exp(v - top))))


def _key_pixels(capture: ModuleCapture, round_: int, pixel: int) -> np.ndarray:
    """Steps 5-6 for one query: the pixel behind each of its 3k key slots in round r, (3k,)."""
    k = capture.chunk
    seq = round_sequence(capture, round_)  # (L,) pixel of each sorted slot
    pad = (-seq.size) % k
    if pad:
        # Step 5 (as released): the round's own last `pad` elements are repeated.
        seq = np.concatenate([seq, seq[-pad:]])
    n_chunks = seq.size // k  # K
    slot = int(np.flatnonzero(seq[: capture.length] == pixel)[0])  # the query's own (unpadded) slot
    own = slot // k
    # Step 6: [own chunk, previous chunk, next chunk], cyclic within the round (K < 3: repeats).
    chunks = (own, (own - 1) % n_chunks, (own + 1) % n_chunks)
    return np.concatenate([seq[c * k : (c + 1) * k] for c in chunks])


def query_attention(
    capture: ModuleCapture, y: int, x: int, *, local_radius: int = DEFAULT_LOCAL_RADIUS
) -> QueryAttention:
    """The weights the forward applied for query pixel (y, x), recomputed in float64 from the
    capture by steps 5-8 of the reference. Cost O(R * (L + k * C)) for one query."""
    h, w, length, rounds = capture.height, capture.width, capture.length, capture.n_hashes
    if not (0 <= y < h and 0 <= x < w):
        raise IndexError(f"query ({y}, {x}) outside the {h}x{w} feature map")
    pixel = y * w + x
    feats = capture.x.numpy().astype(np.float64)  # (L, C)
    query = feats[pixel]  # (C,) queries stay unnormalised (theta = phi, step 6)
    codes = round_codes(capture)  # (R, L)

    round_weights = np.zeros((rounds, length))  # (R, L)
    attended = np.zeros((rounds, length), dtype=bool)  # (R, L)
    lse = np.empty(rounds)  # (R,)
    for r in range(rounds):
        keys = _key_pixels(capture, r, pixel)  # (3k,)
        # Step 7: raw dot products with the normalised keys, no 1/sqrt(d) scale, no self mask.
        scores = _normalise_keys(feats[keys]) @ query  # (3k,)
        lse[r] = _logsumexp(scores)
        # A pixel in several slots (padding repeats, K < 3) gets the sum of its slots' weights.
        np.add.at(round_weights[r], keys, np.exp(scores - lse[r]))
        attended[r, keys] = True

    # Step 8: softmax over rounds of the per-round lse.
    round_probs = np.exp(lse - _logsumexp(lse))  # (R,)
    combined = round_probs @ round_weights  # (L,)
    same_bucket = codes == codes[:, pixel : pixel + 1]  # (R, L)

    positive = combined[combined > 0]
    entropy = float(-np.sum(positive * np.log(positive)))
    grid = combined.reshape(h, w)
    window = grid[max(0, y - local_radius) : y + local_radius + 1, max(0, x - local_radius) : x + local_radius + 1]
    nonlocal_share = float(max(0.0, 1.0 - window.sum()))

    return QueryAttention(
        y=y,
        x=x,
        round_weights=round_weights.reshape(rounds, h, w),
        round_probs=round_probs,
        combined=grid,
        same_bucket=same_bucket.reshape(rounds, h, w),
        attended=attended.reshape(rounds, h, w),
        bucket_size=same_bucket.sum(axis=1),
        attended_count=attended.sum(axis=1),
        entropy=entropy,
        nonlocal_share=nonlocal_share,
    )


def dense_attention(capture: ModuleCapture, y: int, x: int) -> np.ndarray:
    """(H, W): full non-local attention of query (y, x) over ALL pixels with the same embeddings
    (unnormalised query, keys normalised with ``KEY_NORM_EPS``, no scale), softmax, float64."""
    h, w = capture.height, capture.width
    if not (0 <= y < h and 0 <= x < w):
        raise IndexError(f"query ({y}, {x}) outside the {h}x{w} feature map")
    feats = capture.x.numpy().astype(np.float64)  # (L, C)
    scores = _normalise_keys(feats) @ feats[y * w + x]  # (L,)
    weights = np.exp(scores - _logsumexp(scores))
    return weights.reshape(h, w)


@dataclass
class RoundRow:
    """One hash round of a query, as the inspector's table shows it."""

    round: int  # 0-based
    bucket: int  # the query's bucket in this round
    size: int  # pixels in that bucket
    attended: int  # distinct pixels among its candidate keys
    prob: float  # p_r: the round's weight in the combination (softmax of the rounds' lse)
    top_weight: float  # largest weight of one key in this round


def round_rows(capture: ModuleCapture, q: QueryAttention) -> list[RoundRow]:
    """Per-round summary of query ``q`` (computed by :func:`query_attention` on ``capture``)."""
    codes = round_codes(capture)
    pixel = q.y * capture.width + q.x
    return [
        RoundRow(
            round=r,
            bucket=int(codes[r, pixel]),
            size=int(q.bucket_size[r]),
            attended=int(q.attended_count[r]),
            prob=float(q.round_probs[r]),
            top_weight=float(q.round_weights[r].max()),
        )
        for r in range(capture.n_hashes)
    ]


def local_window(y: int, x: int, radius: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1), half-open: the (2 * radius + 1)^2 window around (y, x) clipped to the map;
    the weight outside it is :attr:`QueryAttention.nonlocal_share`."""
    return (max(0, y - radius), min(height, y + radius + 1), max(0, x - radius), min(width, x + radius + 1))


@dataclass
class AttentionStats:
    entropy: float  # nats
    nonlocal_share: float  # weight outside the local window
    top_weight: float
    max_entropy: float  # log(H * W): the entropy of uniform attention over the map, for scale


def attention_stats(weights: np.ndarray, y: int, x: int, *, local_radius: int = DEFAULT_LOCAL_RADIUS) -> AttentionStats:
    """Entropy, non-local share and top weight of an (H, W) attention map of query (y, x)
    (the same definitions as :func:`query_attention`, for e.g. :func:`dense_attention`)."""
    w = np.asarray(weights, dtype=np.float64)
    positive = w[w > 0]
    y0, y1, x0, x1 = local_window(y, x, local_radius, *w.shape)
    return AttentionStats(
        entropy=float(-np.sum(positive * np.log(positive))),
        nonlocal_share=float(max(0.0, 1.0 - w[y0:y1, x0:x1].sum())),
        top_weight=float(w.max()) if w.size else 0.0,
        max_entropy=float(np.log(w.size)) if w.size else 0.0,
    )


def dense_coverage(q: QueryAttention, dense: np.ndarray) -> float:
    """Share of the dense attention's weight that falls on pixels the sparse attention attended in
    at least one round: how much of full non-local attention the chunks let the query see."""
    return float(np.asarray(dense, dtype=np.float64)[q.attended.any(axis=0)].sum())
