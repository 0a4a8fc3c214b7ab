"""Tiny random-weight models of other architectures, built from spandrel's own classes."""

from __future__ import annotations

from pathlib import Path

import torch

from core.network.spandrel_import import import_spandrel


def build(arch: str, scale: int = 2, *, seed: int = 0) -> torch.nn.Module:
    """A small ``arch`` network (RCAN, ESRGAN, SwinIR, Compact, SPAN) with seeded random weights."""
    import_spandrel()
    torch.manual_seed(seed)
    if arch == "RCAN":
        from spandrel.architectures.RCAN import RCAN

        net = RCAN(scale=scale, n_resgroups=2, n_resblocks=2, n_feats=16, reduction=4, norm=True)
    elif arch == "ESRGAN":
        from spandrel.architectures.ESRGAN import ESRGAN

        net = ESRGAN(num_filters=16, num_blocks=2, scale=scale)
    elif arch == "SwinIR":
        from spandrel.architectures.SwinIR import SwinIR

        net = SwinIR(img_size=16, embed_dim=12, depths=[2], num_heads=[2], window_size=4, upscale=scale,
                     upsampler="pixelshuffledirect", mlp_ratio=2.0)
    elif arch == "Compact":
        from spandrel.architectures.Compact import Compact

        net = Compact(num_feat=16, num_conv=4, upscale=scale)
    elif arch == "SPAN":
        from spandrel.architectures.SPAN import SPAN

        net = SPAN(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=scale)
    else:
        raise ValueError(arch)
    with torch.no_grad():  # spandrel's classes start some weights at zero: make every output depend on them
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return net.eval()


def save(net: torch.nn.Module, path: Path) -> Path:
    """``.safetensors`` as safetensors, anything else as a torch.save'd plain state dict."""
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def spandrel_output(path: Path, x: torch.Tensor) -> torch.Tensor:
    """What spandrel itself makes of ``x`` with the file's model (its own loader and call)."""
    spandrel = import_spandrel()
    descriptor = spandrel.ModelLoader().load_from_file(path)
    return descriptor(x.clone())
