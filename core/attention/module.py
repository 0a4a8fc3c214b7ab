"""One Non-Local Sparse Attention module (step 1's embeddings, then hashing and a path, step 9)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.attention.chunks import combine_rounds
from core.attention.fast import sparse_attention_fast
from core.attention.grouped import cpu_flash_available, sparse_attention_blocked, sparse_attention_flash_cpu
from core.attention.hashing import Buckets, compute_buckets
from core.attention.reference import sparse_attention_reference
from core.attention.streamed import sparse_attention_streamed

# The paper's defaults: 4 hash rounds, chunks of 144 positions, match embedding at C / 4.
DEFAULT_N_HASHES = 4
DEFAULT_CHUNK_SIZE = 144
DEFAULT_REDUCTION = 4

# Steps 5-8 by name (NonLocalSparseAttention.impl); all give the same results to float rounding.
PATHS = {
    "reference": sparse_attention_reference,
    "blocked": sparse_attention_blocked,
    "flash-cpu": sparse_attention_flash_cpu,
    "fast": sparse_attention_fast,
}


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
        hashing: str = "lsh",
    ) -> None:
        super().__init__()
        if channels % reduction:
            raise ValueError(f"channels ({channels}) must be divisible by reduction ({reduction})")
        self.channels = channels
        self.n_hashes = n_hashes
        self.chunk_size = chunk_size
        self.reduction = reduction
        self.res_scale = res_scale
        self.hashing = hashing  # "lsh" (the paper); "random" or "local" windows: its ablations
        # "auto" = "streamed" when no gradient is needed (inference: rounds in turn, combined
        # online), else "fast" (strided windows, custom backward). "reference" holds all scores at once like the release; "blocked" and
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

    def hash(self, x: torch.Tensor, generator: torch.Generator | None = None, *,
             shape: tuple[int, int] | None = None) -> Buckets:
        return compute_buckets(
            x, n_hashes=self.n_hashes, chunk_size=self.chunk_size, generator=generator, hashing=self.hashing,
            shape=shape,
        )

    def attend(self, x: torch.Tensor, y: torch.Tensor, bk: Buckets) -> torch.Tensor:
        """Sparse attention (steps 5-8) -> (N, L, C) by ``self.impl``."""
        impl = self.impl
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
        if impl == "streamed" or (impl == "auto" and not needs_grad):
            # Inference: rounds in turn, combined online (a fraction of the fast path's memory).
            return sparse_attention_streamed(x, y, bk, n_hashes=self.n_hashes)
        if impl == "auto":
            impl = "fast"  # the fastest everywhere we measured (docs/performance.md)
        if impl not in PATHS:
            raise ValueError(f"unknown attention path {impl!r}; choose auto or one of {', '.join(PATHS)}")
        if impl == "flash-cpu" and not cpu_flash_available():
            raise ValueError("attention path 'flash-cpu' needs a PyTorch with the fused CPU flash-attention kernel")
        att = PATHS[impl](x, y, bk, n_hashes=self.n_hashes)
        return combine_rounds(att)

    def forward(self, inp: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, h, w = inp.shape
        x, y = self.embed(inp)
        if torch.is_autocast_enabled(inp.device.type):
            # Mixed-precision training (TrainConfig.precision "bf16"): the projection that picks
            # each position's bucket runs in fp32. In bf16 (8-bit mantissa) near-equal projections
            # round to ties, and argmax would resolve every tie towards the lower bucket.
            with torch.autocast(inp.device.type, enabled=False):
                bk = self.hash(x.float(), generator, shape=(h, w))
        else:
            bk = self.hash(x, generator, shape=(h, w))
        out = self.attend(x, y, bk)  # (N, L, C)
        del x, y, bk
        out = out.transpose(1, 2).reshape(n, -1, h, w)
        # Step 9 (in place when nothing needs the product: one image-sized buffer less).
        if torch.is_grad_enabled() and (out.requires_grad or inp.requires_grad):
            return out * self.res_scale + inp
        return out.mul_(self.res_scale).add_(inp)
