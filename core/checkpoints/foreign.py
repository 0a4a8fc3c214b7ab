"""Model files of other architectures: the state dict the project read safely (safetensors, or a
pickle of tensors only) handed to spandrel, which detects the architecture and its shape.

spandrel's own file readers are not used: its ``.pt`` path tries TorchScript first, which is code.
"""

from __future__ import annotations

from typing import Mapping

import torch

from core.base.errors import CheckpointError
from core.network import SCALES
from core.network.foreign import ForeignNet
from core.network.spandrel_import import import_spandrel


def detect_architecture(state: Mapping[str, torch.Tensor]) -> str | None:
    """The spandrel architecture whose keys ``state`` has, or None."""
    spandrel = import_spandrel()
    state = spandrel.canonicalize_state_dict(dict(state))
    for support in spandrel.MAIN_REGISTRY.architectures("detection"):
        if support.detect(state):
            return str(support.architecture.id)
    return None


def build_foreign(state: Mapping[str, torch.Tensor], *, name: str, architecture: str | None = None) -> ForeignNet:
    """The network of another architecture with ``state`` loaded (strictly, as spandrel loads);
    ``architecture``: what :func:`detect_architecture` said already, if it was asked."""
    spandrel = import_spandrel()
    architecture = architecture or detect_architecture(state)
    if architecture is None:
        raise CheckpointError(f"{name}: not an architecture spandrel knows")
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_state_dict(dict(state))
    except Exception as err:  # noqa: BLE001 - a detected layout whose weights do not fit
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{name}: looks like {architecture}, but its weights do not fit ({reason[:200]})") from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise CheckpointError(f"{name}: a {architecture} {descriptor.purpose.lower()} model, not super-resolution")
    if descriptor.scale not in SCALES:
        what = "restoration" if descriptor.scale == 1 else f"×{descriptor.scale}"
        raise CheckpointError(f"{name}: a {what} {architecture} model; NLSN Studio compares "
                              f"{', '.join(f'×{s}' for s in SCALES)} super-resolution")
    if descriptor.input_channels not in (1, 3):
        raise CheckpointError(f"{name}: a {architecture} model of {descriptor.input_channels} input channels; "
                              "RGB and grey models are supported")
    return ForeignNet(descriptor).eval()
