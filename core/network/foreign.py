"""Another SR architecture (ESRGAN, RCAN, SwinIR, HAT… as spandrel builds them) behind the interface
the upscaler, the evaluation and the app use for NLSN: (N, 3, H, W) in [0, 1] to (N, 3, sH, sW), any
size, a ``scale``, a name, what it supports.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.base.interrupt import checkpoint

GREY_WEIGHTS = (0.299, 0.587, 0.114)  # a 1-channel model reads luma (ITU-R BT.601), as its training did


class ForeignNet(nn.Module):
    """A spandrel ``ImageModelDescriptor`` as a module: pads the input to the architecture's size
    requirements (reflect, then replicate, as spandrel does), runs it, crops the padding off."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.net = descriptor.model
        self.architecture: str = str(descriptor.architecture.id)  # short: "RCAN", "Compact", "SwinIR"
        self.scale: int = int(descriptor.scale)
        self.input_channels: int = int(descriptor.input_channels)
        self.output_channels: int = int(descriptor.output_channels)
        self.supports_half: bool = bool(descriptor.supports_half)
        self.supports_bfloat16: bool = bool(descriptor.supports_bfloat16)
        self.tags: list[str] = list(descriptor.tags)
        self.tiling: str = descriptor.tiling.name.lower()  # 'supported', 'discouraged' or 'internal'
        self.size_requirements = descriptor.size_requirements
        self._call = descriptor._call_fn  # some architectures are called otherwise than net(x)
        # Cancel stops within a forward, as between NLSN's stages: before each of the network's
        # parts and their parts (a transformer's layers and blocks).
        for part in {*self.net.children(), *(g for c in self.net.children() for g in c.children())}:
            part.register_forward_pre_hook(_interruption_point)

    def describe(self) -> str:
        """``RCAN (32nf, 3nrg, 6nrb), 0.41 M parameters``."""
        tags = f" ({', '.join(self.tags)})" if self.tags else ""
        params = sum(p.numel() for p in self.parameters())
        return f"{self.architecture}{tags}, {params / 1e6:.2f} M parameters"

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 3, sH, sW); ``generator`` is NLSN's (hash rotations), unused here."""
        _, _, h, w = x.shape
        if self.input_channels == 1:
            weights = torch.tensor(GREY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x * weights).sum(dim=1, keepdim=True)  # (N, 1, H, W)
        padded, x = _pad(x, self.size_requirements)
        if not padded:
            x = x.clone()  # some architectures scale their input in place (RCAN: x *= rgb_range)
        out = self._call(self.net, x)[:, :, : h * self.scale, : w * self.scale]
        if out.shape[1] == 1:
            out = out.expand(-1, 3, -1, -1)
        return out[:, :3]


def _interruption_point(_module: nn.Module, _inputs: Any) -> None:
    checkpoint()


def _pad(x: torch.Tensor, requirements: Any) -> tuple[bool, torch.Tensor]:
    """Pad right and bottom to ``requirements`` (spandrel's ``SizeRequirements``): reflect as far as
    the image allows, replicate beyond."""
    h, w = x.shape[-2:]
    pad_w, pad_h = requirements.get_padding(w, h)
    if not (pad_w or pad_h):
        return False, x
    reflect_w, reflect_h = min(pad_w, w - 1), min(pad_h, h - 1)
    x = nn.functional.pad(x, (0, reflect_w, 0, reflect_h), mode="reflect")
    x = nn.functional.pad(x, (0, pad_w - reflect_w, 0, pad_h - reflect_h), mode="replicate")
    return True, x
