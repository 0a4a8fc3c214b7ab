"""Steps 2-4 of the sparse attention: spherical LSH of every position into buckets, and the sort.

Step numbers and shapes: :mod:`core.attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_BUCKETS = 128  # the released cap on m


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


HASH_BLOCK = 2**16  # positions projected at once (16 MiB of projections per round-set of 64)


def hash_codes(x: torch.Tensor, rotations: torch.Tensor, buckets: int) -> torch.Tensor:
    """Bucket of every position in every round, offset by ``r * m`` (step 3).

    x: (N, L, C) unnormalised match embedding; rotations: (1, C, R, m/2).
    Returns (N, R, L) int64 codes in ``[r*m, (r+1)*m)`` for round r.
    """
    n, length, channels = x.shape
    n_hashes, half = rotations.shape[2], rotations.shape[3]
    # The matmul the released einsum("btf,bfhi->bhti") runs (bitwise the same projections), kept
    # in its (N, L, R, m/2) layout so that the reductions below run over contiguous rows; in
    # blocks of positions, so that the projections of a large image (R * m/2 = 256 values per
    # position: 1 GiB at 1000 x 1000) never exist at once.
    flat = rotations.reshape(1, channels, n_hashes * half).expand(n, -1, -1)  # (N, C, R*m/2)
    codes = torch.empty(n, length, n_hashes, dtype=torch.int64, device=x.device)  # (N, L, R)
    for start in range(0, length, HASH_BLOCK):
        part = slice(start, min(start + HASH_BLOCK, length))
        rotated = torch.bmm(x[:, part], flat).view(n, -1, n_hashes, half)  # (N, l, R, m/2)
        # argmax over [rotated, -rotated] (m values) without building it: the first maximum of
        # `rotated` unless -min is strictly larger (then m/2 + the first minimum); ties resolve to
        # the first index, exactly as argmax over the concatenation does.
        top, top_at = rotated.max(dim=-1)  # (N, l, R)
        low, low_at = rotated.min(dim=-1)  # (N, l, R)
        codes[:, part] = torch.where(-low > top, low_at + half, top_at)
    offsets = torch.arange(n_hashes, device=x.device).view(1, -1, 1) * buckets
    return codes.transpose(1, 2) + offsets  # (N, R, L)


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


HASHINGS = ("lsh", "random", "local")  # the paper's, and its two ablations (Table 1's baselines)


def ablation_codes(kind: str, *, n: int, n_hashes: int, length: int, buckets: int, shape: tuple[int, int] | None,
                   window: int, generator: torch.Generator | None, device: torch.device) -> tuple[torch.Tensor, int]:
    """(codes (N, R, L) offset per round, buckets m) of the ablations instead of spherical LSH:

    * ``random``: every position in a uniformly random one of the m buckets, whatever its content;
    * ``local``: the bucket of a position is its ``window`` x ``window`` window of the image (row
      by row), so a chunk of k = window² positions is a window (partial windows at the right and
      bottom edges shift the chunks after them): a local attention of the same span.
    """
    if kind == "random":
        codes = torch.randint(0, buckets, (n, n_hashes, length), generator=generator, device="cpu").to(device)
    elif kind == "local":
        if shape is None or shape[0] * shape[1] != length:
            raise ValueError("local windows need the image's (H, W)")
        h, w = shape
        ys = torch.arange(h, device=device).view(-1, 1) // window
        xs = torch.arange(w, device=device).view(1, -1) // window
        across = -(-w // window)
        buckets = int(-(-h // window) * across)
        codes = (ys * across + xs).reshape(1, 1, length).expand(n, n_hashes, length)
    else:
        raise ValueError(f"unknown hashing {kind!r}; choose one of {', '.join(HASHINGS)}")
    offsets = torch.arange(n_hashes, device=device).view(1, -1, 1) * buckets
    return codes + offsets, buckets


def compute_buckets(
    x: torch.Tensor,
    *,
    n_hashes: int,
    chunk_size: int,
    generator: torch.Generator | None,
    hashing: str = "lsh",
    shape: tuple[int, int] | None = None,
) -> Buckets:
    """Steps 2-4: hash every position of x (N, L, C) in R rounds and sort stably (``hashing``:
    :data:`HASHINGS`; ``shape``: the image's (H, W), which local windows need)."""
    n, length, channels = x.shape
    buckets = n_buckets(length, chunk_size)
    chunk = effective_chunk_size(length, chunk_size)
    if buckets and hashing != "lsh":
        window = max(1, round(chunk_size ** 0.5))  # q = 12 for k = 144: the same number of keys
        codes, buckets = ablation_codes(hashing, n=n, n_hashes=n_hashes, length=length, buckets=buckets,
                                        shape=shape, window=window, generator=generator, device=x.device)
    elif buckets == 0:
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
