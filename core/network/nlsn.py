"""The NLSN network (released architecture): network definition only, no training, checkpoint or
inference logic. Module names reproduce the released state-dict keys exactly (``head.0``,
``body.N``, ``tail.0.0``, ``tail.1``, ...).
"""

from __future__ import annotations

import torch
from torch import nn

from core.attention import NonLocalSparseAttention
from core.base.interrupt import checkpoint
from core.network.config import NLSA_EVERY, SCALES, NLSNConfig

# The released normalisation: the RGB mean of DIV2K subtracted, std 1, inputs in [0, 1] (rgb_range 1).
RGB_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Module):
    """Fixed 1x1 conv that subtracts (sign -1) or adds (sign +1) the RGB mean; not trained.

    Kept as buffers named ``weight`` / ``bias`` so the keys match the release's
    ``sub_mean.weight`` etc. while staying out of the optimiser.
    """

    def __init__(self, sign: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.eye(3).view(3, 3, 1, 1))
        self.register_buffer("bias", sign * torch.tensor(RGB_MEAN))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight, self.bias)


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResBlock(nn.Module):
    """Conv 3x3 -> ReLU -> Conv 3x3, scaled by res_scale, plus input (keys body.0 / body.2)."""

    def __init__(self, n_feats: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3x3(n_feats, n_feats), nn.ReLU(inplace=True), conv3x3(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if needs_grad(out, x):
            return out * self.res_scale + x
        return out.mul_(self.res_scale).add_(x)  # the same arithmetic, without a second buffer


def needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


TAIL_STRIP_BYTES = 64 * 2**20  # without gradients the tail runs in strips of rows of about this much
TAIL_HALO = 2  # LR rows either side of a strip: every tail's receptive field reaches < 2 LR rows


class Tail(nn.Sequential):
    """The upsampler and the last conv (keys tail.0.* and tail.1.*).

    Without gradients (inference) a large image goes through in strips of rows, each with
    ``TAIL_HALO`` rows of its neighbours, so that the widest map (4 or 9 times the features, at
    LR size: 1 GiB for a 1000 x 1000 x2) is never whole. Convolutions only look that far, so
    the strips give the whole-image result (to float rounding, tested).
    """

    def __init__(self, scale: int, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        widest = max(m.out_channels for m in self.modules() if isinstance(m, nn.Conv2d))
        rows = max(8, TAIL_STRIP_BYTES // max(1, n * widest * w * x.element_size()))
        if needs_grad(x) or rows >= h:
            return super().forward(x)
        s = self.scale
        out = x.new_empty(n, 3, h * s, w * s)
        for top in range(0, h, rows):
            count = min(rows, h - top)
            lo, hi = max(0, top - TAIL_HALO), min(h, top + count + TAIL_HALO)
            piece = super().forward(x[:, :, lo:hi])  # (N, 3, (hi - lo) * s, W * s)
            out[:, :, top * s:(top + count) * s] = piece[:, :, (top - lo) * s:(top - lo + count) * s]
            checkpoint()
        return out


def upsampler(n_feats: int, scale: int) -> nn.Sequential:
    """x2 / x3: one conv + PixelShuffle; x4: two x2 stages (keys tail.0.0 and tail.0.2)."""
    if scale in (2, 4):
        layers: list[nn.Module] = []
        for _ in range({2: 1, 4: 2}[scale]):
            layers += [conv3x3(n_feats, 4 * n_feats), nn.PixelShuffle(2)]
        return nn.Sequential(*layers)
    if scale == 3:
        return nn.Sequential(conv3x3(n_feats, 9 * n_feats), nn.PixelShuffle(3))
    raise ValueError(f"scale must be one of {SCALES}, got {scale}")


class NLSN(nn.Module):
    """Non-Local Sparse Network. Input and output RGB in [0, 1], shape (N, 3, H, W)."""

    def __init__(self, config: NLSNConfig) -> None:
        super().__init__()
        self.config = config
        f = config.n_feats
        self.sub_mean = MeanShift(-1)
        self.head = nn.Sequential(conv3x3(3, f))
        # Released layout: NLSA, then ResBlocks with one more NLSA after every 8th, then a conv.
        body: list[nn.Module] = [self._nlsa()] if config.use_nlsa else []
        for i in range(config.n_resblocks):
            body.append(ResBlock(f, config.res_scale))
            if config.use_nlsa and (i + 1) % NLSA_EVERY == 0:
                body.append(self._nlsa())
        body.append(conv3x3(f, f))
        self.body = nn.Sequential(*body)
        self.tail = Tail(config.scale, upsampler(f, config.scale), conv3x3(f, 3))
        self.add_mean = MeanShift(+1)

    def _nlsa(self) -> NonLocalSparseAttention:
        c = self.config
        # Released: the NLSA modules use the network's res_scale too.
        return NonLocalSparseAttention(
            c.n_feats, n_hashes=c.n_hashes, chunk_size=c.chunk_size, reduction=c.reduction, res_scale=c.res_scale,
            hashing=c.hashing,
        )

    @property
    def scale(self) -> int:
        return self.config.scale

    def nlsa_modules(self) -> list[NonLocalSparseAttention]:
        return [m for m in self.body if isinstance(m, NonLocalSparseAttention)]

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x (N, 3, H, W) in [0, 1] -> (N, 3, sH, sW). Each NLSA draws its rotations in order
        from ``generator`` (or the global CPU RNG)."""
        x = self.sub_mean(x)
        h = self.head(x)
        res = h
        for module in self.body:
            if isinstance(module, NonLocalSparseAttention):
                res = module(res, generator=generator)
            else:
                res = module(res)
        res = res + h if needs_grad(res, h) or res is h else res.add_(h)  # global residual
        return self.add_mean(self.tail(res))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (the fixed mean shifts are buffers and do not count)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
