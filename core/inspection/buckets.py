"""The hashing of one module and round as maps: bucket and chunk of every pixel, bucket sizes, and
how buckets move between two seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.inspection.capture import ModuleCapture


def _check_round(capture: ModuleCapture, round_: int) -> None:
    if not 0 <= round_ < capture.n_hashes:
        raise IndexError(f"round {round_} out of range 0..{capture.n_hashes - 1}")


def round_codes(capture: ModuleCapture) -> np.ndarray:
    """(R, L) bucket ids without the round offset, 0..m-1.

    In the dense fallback (m = 0) every position is in bucket 0 by definition;
    ``compute_buckets`` there subtracts ``r * max(m, 1)`` from codes that never had the offset
    (its codes read -r), so the ids are taken from the definition, not from the tensor.
    """
    codes = capture.buckets.codes[0].numpy()  # (R, L)
    return np.zeros_like(codes) if capture.buckets.buckets == 0 else codes


def round_sequence(capture: ModuleCapture, round_: int) -> np.ndarray:
    """Pixel index at each sorted slot of round r: (L,). Step 4's sort is over the R*L offset
    codes, so sorted slots r*L .. (r+1)*L - 1 hold exactly round r's flat indices r*L + p."""
    length = capture.length
    order = capture.buckets.order[0].numpy()  # (R*L,)
    return order[round_ * length : (round_ + 1) * length] - round_ * length


def _slot_of_pixels(capture: ModuleCapture, round_: int) -> np.ndarray:
    """Sorted slot of every pixel in round r (its unpadded slot): (L,)."""
    seq = round_sequence(capture, round_)  # (L,)
    slots = np.empty_like(seq)
    slots[seq] = np.arange(seq.size)
    return slots


def bucket_map(capture: ModuleCapture, round_: int) -> np.ndarray:
    """(H, W) int: bucket (0..m-1) of each pixel in round ``round_`` (all 0 in the dense fallback)."""
    _check_round(capture, round_)
    return round_codes(capture)[round_].reshape(capture.height, capture.width).copy()


def chunk_map(capture: ModuleCapture, round_: int) -> np.ndarray:
    """(H, W) int: chunk (0..K-1) of each pixel's own sorted slot in round ``round_``.

    A pixel repeated by the padding also sits in the last chunk; this map shows its own slot.
    """
    _check_round(capture, round_)
    slots = _slot_of_pixels(capture, round_)  # (L,)
    return (slots // capture.chunk).reshape(capture.height, capture.width)


def bucket_sizes(capture: ModuleCapture, round_: int) -> np.ndarray:
    """(m,) int: number of pixels in each bucket in round ``round_`` ((1,) in the dense fallback,
    where m = 0 and every pixel is in bucket 0)."""
    _check_round(capture, round_)
    m = max(capture.buckets.buckets, 1)
    return np.bincount(round_codes(capture)[round_], minlength=m)


@dataclass
class BucketSizeSummary:
    """How evenly a round's buckets are filled, next to the chunk size that bounds attention."""

    buckets: int  # m
    largest: int  # pixels in the largest bucket
    largest_id: int
    median: float
    empty: int  # buckets no pixel hashed into
    over_chunk: int  # buckets larger than a chunk: their pixels are split over several chunks


def bucket_size_summary(sizes: np.ndarray, chunk: int) -> BucketSizeSummary:
    """Summary of :func:`bucket_sizes` for a legend (``chunk``: the module's chunk size k)."""
    sizes = np.asarray(sizes)
    if sizes.size == 0:
        return BucketSizeSummary(0, 0, 0, 0.0, 0, 0)
    return BucketSizeSummary(
        buckets=int(sizes.size),
        largest=int(sizes.max()),
        largest_id=int(sizes.argmax()),
        median=float(np.median(sizes)),
        empty=int(np.sum(sizes == 0)),
        over_chunk=int(np.sum(sizes > chunk)),
    )


def log_axis(values: np.ndarray | float) -> np.ndarray:
    """log10(1 + v): bucket sizes (or any counts) on a log axis that keeps 0 at 0."""
    return np.log10(1.0 + np.asarray(values, dtype=np.float64))


def log_axis_ticks(top: float) -> list[tuple[float, str]]:
    """Ticks (position on :func:`log_axis`, label) at 1, 10, 100, ... up to ``top`` counts."""
    ticks = []
    v = 1
    while v <= max(top, 1):
        ticks.append((float(log_axis(v)), f"{v:,}"))
        v *= 10
    return ticks


@dataclass
class BucketChange:
    """How a bucket map changed from one hash (seed) to another, for the same pixels.

    Bucket ids are arbitrary per rotation, so pixels are compared by their bucket-mates: each old
    bucket is matched to the new bucket that received most of its pixels, and a pixel "changed
    bucket" when it went elsewhere. ``pairs_kept`` is the share of pixel pairs sharing a bucket
    before that still share one after.
    """

    changed: int
    total: int
    pairs_kept: float

    @property
    def fraction(self) -> float:
        return self.changed / self.total if self.total else 0.0


def bucket_changes(before: np.ndarray, after: np.ndarray) -> BucketChange:
    """Compare two bucket maps (e.g. :func:`bucket_map` of the same module and round under two
    seeds) of equal shape; see :class:`BucketChange`."""
    a = np.asarray(before).reshape(-1).astype(np.int64)
    b = np.asarray(after).reshape(-1).astype(np.int64)
    if a.shape != b.shape:
        raise ValueError(f"bucket maps differ in size: {np.shape(before)} vs {np.shape(after)}")
    if a.size == 0:
        return BucketChange(0, 0, 1.0)
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb)  # (old, new) pixel counts
    changed = int(a.size - table.max(axis=1).sum())
    pairs_before = float(np.sum(table.sum(axis=1).astype(np.float64) ** 2) - a.size)
    pairs_both = float(np.sum(table.astype(np.float64) ** 2) - a.size)
    return BucketChange(changed, int(a.size), pairs_both / pairs_before if pairs_before > 0 else 1.0)
