"""Inspection of the Non-Local Sparse Attention: what each NLSA module of one forward computed.

:func:`inspect` runs ONE ordinary forward of an :class:`~core.nlsn.NLSN` (the same one
``Upscaler.upscale_tensor(lr, seed=seed)`` runs for a whole image without tiles) and records, for
every NLSA module, the embeddings, the buckets and the attention output exactly as that forward
used them. The query functions then explain one query pixel at a time, from those captures, by
the steps of the reference (``shared/spec/nlsn-reference.md``, step numbers below); they never
build the full (L, L) attention of the image.

Shapes: L = H * W positions of the LR feature map, C match channels, Cy assembly channels,
R hash rounds, m buckets, k chunk size, K chunks per round.

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.allocator import keep_freed_memory
from core.errors import Cancelled
from core.interrupt import interruptible
from core.nlsa import KEY_NORM_EPS, Buckets, NonLocalSparseAttention
from core.nlsn import NLSN

CancelFn = Callable[[], bool]
DEFAULT_LOCAL_RADIUS = 3


# --------------------------------------------------------------------------- captures


@dataclass
class ModuleCapture:
    """What one NLSA module computed in the inspected forward (batch element 0, float32 CPU).

    ``buckets`` keeps a batch axis of 1: codes (1, R, L), order (1, R*L), so it can be passed
    back to the attention paths of :mod:`core.nlsa` as is.
    """

    index: int  # 0-based NLSA module number
    body_position: int  # its index in model.body
    height: int  # LR feature map height H
    width: int  # and width W; L = H * W
    x: torch.Tensor  # (L, C) match embedding (unnormalised)
    y: torch.Tensor  # (L, Cy) assembly embedding
    buckets: Buckets  # exactly the buckets of this forward
    n_hashes: int  # R
    chunk: int  # k actually used (L when L < chunk_size: the dense fallback)
    output: torch.Tensor  # (L, Cy) combine_rounds output, before res_scale and the residual

    @property
    def length(self) -> int:
        return self.height * self.width


@dataclass
class Inspection:
    """One inspected forward: its seed, scale, per-module captures and network output."""

    seed: int
    scale: int
    modules: list[ModuleCapture]
    sr: torch.Tensor  # (1, 3, sH, sW) float32 CPU, unclamped (as Upscaler returns it)


def _to_cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", torch.float32).clone()


class _Recorder:
    """Wraps one module's ``embed`` / ``hash`` / ``attend`` with instance attributes that call the
    original bound methods and keep their results: the forward itself is unchanged."""

    def __init__(self, module: NonLocalSparseAttention, index: int, body_position: int) -> None:
        self.module = module
        self.index = index
        self.body_position = body_position
        self.captures: list[ModuleCapture] = []
        self._pending: dict = {}

    def install(self) -> None:
        m = self.module
        embed, hash_, attend = m.embed, m.hash, m.attend  # the bound class methods

        def embed_wrapper(inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x, y = embed(inp)
            self._pending = {"height": inp.shape[-2], "width": inp.shape[-1], "x": x, "y": y}
            return x, y

        def hash_wrapper(x: torch.Tensor, generator: torch.Generator | None = None) -> Buckets:
            bk = hash_(x, generator)
            self._pending["buckets"] = bk
            return bk

        def attend_wrapper(x: torch.Tensor, y: torch.Tensor, bk: Buckets) -> torch.Tensor:
            out = attend(x, y, bk)  # (N, L, Cy)
            p = self._pending
            self.captures.append(
                ModuleCapture(
                    index=self.index,
                    body_position=self.body_position,
                    height=int(p["height"]),
                    width=int(p["width"]),
                    x=_to_cpu(x[0]),
                    y=_to_cpu(y[0]),
                    buckets=Buckets(
                        codes=bk.codes[:1].detach().cpu().clone(),  # (1, R, L)
                        order=bk.order[:1].detach().cpu().clone(),  # (1, R*L)
                        buckets=bk.buckets,
                        chunk=bk.chunk,
                        length=bk.length,
                    ),
                    n_hashes=m.n_hashes,
                    chunk=bk.chunk,
                    output=_to_cpu(out[0]),
                )
            )
            self._pending = {}
            return out

        m.embed = embed_wrapper  # type: ignore[method-assign]
        m.hash = hash_wrapper  # type: ignore[method-assign]
        m.attend = attend_wrapper  # type: ignore[method-assign]

    def remove(self) -> None:
        for name in ("embed", "hash", "attend"):
            self.module.__dict__.pop(name, None)


@torch.no_grad()
def inspect(
    model: NLSN,
    lr: torch.Tensor,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    cancel: CancelFn | None = None,
) -> Inspection:
    """Run one forward of ``model`` on ``lr`` (1, 3, H, W) in [0, 1] and capture every NLSA module.

    Same forward as ``Upscaler(model, device=device, half=False).upscale_tensor(lr, seed=seed)``
    for an untiled image: eval mode, float32, rotations drawn in module order from a CPU
    generator seeded with ``seed``. Raises :class:`Cancelled` when ``cancel()`` turns true
    (checked before each stage of the network and between attention blocks). The model is left
    in eval mode on ``device``, like the Upscaler leaves it.
    """
    if lr.ndim != 4 or lr.shape[:2] != (1, 3):
        raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(lr.shape)}")
    dev = torch.device(device)
    model = model.eval().to(dev, torch.float32)
    generator = torch.Generator(device="cpu").manual_seed(int(seed))

    positions = [pos for pos, m in enumerate(model.body) if isinstance(m, NonLocalSparseAttention)]
    recorders = [_Recorder(model.body[pos], index, pos) for index, pos in enumerate(positions)]

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise Cancelled()

    def on_stage(_module, _inputs) -> None:
        check_cancel()

    stages = [model.head, *model.body, model.tail]
    handles = []
    try:
        for rec in recorders:
            rec.install()
        handles = [s.register_forward_pre_hook(on_stage) for s in stages]
        keep_freed_memory()  # as Upscaler does (core/allocator.py)
        with interruptible(check_cancel):  # also between the blocks of the sparse attention
            sr = model(lr.to(dev, torch.float32), generator=generator).float().cpu()
    finally:
        for handle in handles:
            handle.remove()
        for rec in recorders:
            rec.remove()

    modules: list[ModuleCapture] = []
    for rec in recorders:
        if len(rec.captures) != 1:  # a model whose forward skips or repeats a module
            raise RuntimeError(f"NLSA module {rec.index} ran {len(rec.captures)} times in one forward")
        modules.append(rec.captures[0])
    return Inspection(seed=int(seed), scale=model.scale, modules=modules, sr=sr)


# --------------------------------------------------------------------------- maps of one round


def _check_round(capture: ModuleCapture, round_: int) -> None:
    if not 0 <= round_ < capture.n_hashes:
        raise IndexError(f"round {round_} out of range 0..{capture.n_hashes - 1}")


def _codes(capture: ModuleCapture) -> np.ndarray:
    """(R, L) bucket ids without the round offset, 0..m-1.

    In the dense fallback (m = 0) every position is in bucket 0 by definition;
    ``compute_buckets`` there subtracts ``r * max(m, 1)`` from codes that never had the offset
    (its codes read -r), so the ids are taken from the definition, not from the tensor.
    """
    codes = capture.buckets.codes[0].numpy()  # (R, L)
    return np.zeros_like(codes) if capture.buckets.buckets == 0 else codes


def _round_sequence(capture: ModuleCapture, round_: int) -> np.ndarray:
    """Pixel index at each sorted slot of round r: (L,). Step 4's sort is over the R*L offset
    codes, so sorted slots r*L .. (r+1)*L - 1 hold exactly round r's flat indices r*L + p."""
    length = capture.length
    order = capture.buckets.order[0].numpy()  # (R*L,)
    return order[round_ * length : (round_ + 1) * length] - round_ * length


def _slot_of_pixels(capture: ModuleCapture, round_: int) -> np.ndarray:
    """Sorted slot of every pixel in round r (its unpadded slot): (L,)."""
    seq = _round_sequence(capture, round_)  # (L,)
    slots = np.empty_like(seq)
    slots[seq] = np.arange(seq.size)
    return slots


def bucket_map(capture: ModuleCapture, round_: int) -> np.ndarray:
    """(H, W) int: bucket (0..m-1) of each pixel in round ``round_`` (all 0 in the dense fallback)."""
    _check_round(capture, round_)
    return _codes(capture)[round_].reshape(capture.height, capture.width).copy()


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
    return np.bincount(_codes(capture)[round_], minlength=m)


# --------------------------------------------------------------------------- one query


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
    seq = _round_sequence(capture, round_)  # (L,) pixel of each sorted slot
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
    codes = _codes(capture)  # (R, L)

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


# --------------------------------------------------------------------------- inspecting an image


def image_tensor(image) -> torch.Tensor:
    """A :class:`core.imageio.Image` as the (1, 3, H, W) float tensor in [0, 1] the network takes:
    the same conversion as ``Upscaler.upscale_image`` (grey replicated, alpha dropped)."""
    return torch.from_numpy(image.to_float_rgb()).permute(2, 0, 1).unsqueeze(0).contiguous()


def inspect_image(
    model: NLSN,
    image,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    cancel: CancelFn | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Inspection:
    """:func:`inspect` for an :class:`~core.imageio.Image`, reporting ``progress(fraction, message)``
    as the forward passes the head, each body block and the tail (approximate: blocks differ in cost).

    The model's parameter dtype is restored afterwards (:func:`inspect` runs in float32; an
    ``Upscaler`` on a GPU keeps the model in half precision and must find it so)."""
    dtype = next(model.parameters()).dtype
    stages = [model.head, *model.body, model.tail]
    handles = []
    if progress is not None:
        for i, stage in enumerate(stages):
            def hook(_module, _inputs, i=i) -> None:
                progress(i / len(stages), f"block {i} of {len(stages)}")

            handles.append(stage.register_forward_pre_hook(hook))
    try:
        result = inspect(model, image_tensor(image), seed=seed, device=device, cancel=cancel)
    finally:
        for handle in handles:
            handle.remove()
        model.to(dtype=dtype)
    if progress is not None:
        progress(1.0, "done")
    return result


# --------------------------------------------------------------------------- numbers for a view


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
    codes = _codes(capture)
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


# --------------------------------------------------------------------------- colours for display

# Inferno (matplotlib's perceptual colormap, CC0), 33 evenly spaced entries; interpolated to 256.
_INFERNO_ANCHORS = np.array(
    [
        (0, 0, 4), (4, 3, 18), (11, 7, 36), (21, 11, 55), (33, 12, 74), (47, 10, 91), (61, 9, 101),
        (74, 12, 107), (87, 16, 110), (100, 21, 110), (113, 25, 110), (125, 30, 109), (138, 34, 106),
        (151, 39, 102), (163, 44, 97), (176, 49, 91), (188, 55, 84), (198, 61, 77), (208, 69, 69),
        (218, 78, 60), (227, 89, 51), (235, 100, 41), (241, 113, 31), (246, 126, 20), (249, 140, 10),
        (251, 155, 6), (252, 170, 15), (251, 186, 31), (249, 201, 50), (245, 217, 73), (242, 232, 101),
        (243, 245, 134), (252, 255, 164),
    ],
    dtype=np.float64,
)


def colormap_table(n: int = 256) -> np.ndarray:
    """(n, 3) uint8: the inferno colormap, dark (low) to light yellow (high)."""
    xs = np.linspace(0.0, 1.0, len(_INFERNO_ANCHORS))
    t = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(t, xs, _INFERNO_ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


_INFERNO = colormap_table()


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV (all in [0, 1]) to (n, 3) float RGB in [0, 1]."""
    i = np.floor(h * 6.0).astype(np.int64) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = np.zeros((h.size, 3))
    for k, (r, g, b) in enumerate(choices):
        sel = i == k
        rgb[sel] = np.stack([r[sel], g[sel], b[sel]], axis=1)
    return rgb


GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0  # 0.618...: hue step between consecutive buckets


_LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601 weights of R, G, B
_PALETTE_LIGHTNESS = np.array([0.74, 0.40, 0.57])  # luma of ids 0, 1, 2 (mod 3)


def bucket_palette(m: int) -> np.ndarray:
    """(m, 3) uint8 categorical colours for bucket ids 0..m-1.

    The hue advances by the golden ratio of a turn per id (about 222 degrees, so consecutive ids
    land far apart on the colour wheel and no two ids share a hue), and the lightness (luma) cycles
    through three levels, so neighbouring buckets differ in lightness too, whatever their hues:
    a saturated hue is darkened, or mixed with white, to reach its level exactly.
    """
    m = max(int(m), 0)
    ids = np.arange(m, dtype=np.float64)
    hue = (0.08 + ids * GOLDEN) % 1.0
    pure = _hsv_to_rgb(hue, np.full(m, 0.9), np.ones(m))  # (m, 3) in [0, 1]
    luma = pure @ _LUMA  # (m,)
    target = _PALETTE_LIGHTNESS[np.arange(m) % 3]
    darker = pure * (target / luma)[:, None]
    lighter = pure + (1.0 - pure) * ((target - luma) / (1.0 - luma))[:, None]
    rgb = np.where((target <= luma)[:, None], darker, lighter)
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8).reshape(m, 3)


def colorize_buckets(buckets: np.ndarray, m: int, alpha: int = 255) -> np.ndarray:
    """(H, W, 4) uint8: each pixel in the :func:`bucket_palette` colour of its bucket (0..m-1)."""
    buckets = np.asarray(buckets)
    m = max(int(m), 1)
    if buckets.size and (buckets.min() < 0 or buckets.max() >= m):
        raise ValueError(f"bucket ids must lie in 0..{m - 1}")
    out = np.empty((*buckets.shape, 4), dtype=np.uint8)
    out[..., :3] = bucket_palette(m)[buckets]
    out[..., 3] = int(alpha)
    return out


def normalise_weights(
    weights: np.ndarray, *, vmax: float | None = None, scale: str = "log", gamma: float = 0.5, decades: float = 3.0
) -> np.ndarray:
    """(H, W) float in [0, 1]: attention weights mapped for display, relative to ``vmax``
    (default: their maximum). ``scale``: "linear" (w / vmax), "gamma" ((w / vmax) ** gamma) or
    "log" (``decades`` powers of ten below vmax up to vmax: 0 at vmax * 10**-decades)."""
    w = np.asarray(weights, dtype=np.float64)
    top = float(w.max()) if vmax is None and w.size else float(vmax or 0.0)
    if not top > 0:
        return np.zeros(w.shape)
    rel = np.clip(w / top, 0.0, 1.0)
    if scale == "linear":
        return rel
    if scale == "gamma":
        return rel**gamma
    if scale == "log":
        with np.errstate(divide="ignore"):
            out = 1.0 + np.log10(rel) / float(decades)
        return np.clip(np.where(rel > 0, out, 0.0), 0.0, 1.0)
    raise ValueError(f"unknown scale {scale!r}: choose linear, gamma or log")


def heatmap_rgba(
    weights: np.ndarray,
    *,
    vmax: float | None = None,
    scale: str = "log",
    gamma: float = 0.5,
    decades: float = 3.0,
    alpha: int = 255,
    fade: float = 0.15,
) -> np.ndarray:
    """(H, W, 4) uint8: attention weights in the inferno colormap (see :func:`normalise_weights`).

    Opacity rises from 0 at weight 0 to ``alpha`` at ``fade`` of the display range, so pixels
    with (almost) no weight stay transparent and the image shows through; ``fade`` 0: opaque.
    """
    v = normalise_weights(weights, vmax=vmax, scale=scale, gamma=gamma, decades=decades)
    out = np.empty((*v.shape, 4), dtype=np.uint8)
    out[..., :3] = _INFERNO[np.round(v * 255.0).astype(np.int64)]
    opacity = np.ones_like(v) if fade <= 0 else np.clip(v / fade, 0.0, 1.0)
    opacity[v <= 0] = 0.0 if fade > 0 else 1.0
    out[..., 3] = np.round(opacity * int(alpha)).astype(np.uint8)
    return out


def mask_rgba(mask: np.ndarray, color: tuple[int, int, int], alpha: int = 255) -> np.ndarray:
    """(H, W, 4) uint8: ``color`` where ``mask`` is true, transparent elsewhere."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros((*mask.shape, 4), dtype=np.uint8)
    out[mask, :3] = np.asarray(color, dtype=np.uint8)
    out[mask, 3] = int(alpha)
    return out


def dimmed_grey(rgb: np.ndarray, *, level: float = 0.45) -> np.ndarray:
    """(H, W, 3) uint8: the image as grey (Rec. 601 luma) scaled by ``level``, a quiet backdrop
    for heatmaps and masks. Accepts (H, W), (H, W, 3) or (H, W, 4) uint8."""
    a = np.asarray(rgb, dtype=np.float64)
    luma = a if a.ndim == 2 else a[..., :3] @ np.array([0.299, 0.587, 0.114])
    grey = np.round(np.clip(luma * float(level), 0, 255)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
