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
