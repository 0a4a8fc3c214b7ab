"""Importing spandrel, the library that knows the other SR architectures (ESRGAN, RCAN, SwinIR, HAT…).

spandrel imports torchvision, and PyPI's torchvision wheel carries compiled operators (NMS, RoI
pooling; no SR network uses them) built against the CUDA build of torch. Beside a CPU-only torch
build those operators do not load, and torchvision 0.28's import then fails on registering their
shapes (``operator torchvision::nms does not exist``). In that one case the two operators it
registers unconditionally are declared here (without kernels: calling them still fails) and the
import is tried again; any other failure is one readable line.
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch

from core.base.errors import CheckpointError

# Their schemas as torchvision's C++ code declares them (torchvision/csrc/ops/nms.cpp, qnms).
_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_declared: list[torch.library.Library] = []  # kept alive: dropping a Library removes its operators


def _declare_torchvision_ops() -> None:
    if _declared:
        return
    library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _OPS:
        name = schema.split("(", 1)[0]
        if not torch._C._dispatch_has_kernel(f"torchvision::{name}"):
            try:
                library.define(schema)
            except RuntimeError:  # already declared by a torchvision that did load
                pass
    _declared.append(library)


def _forget_partial_imports() -> None:
    for name in [n for n in sys.modules if n.split(".")[0] in ("torchvision", "spandrel")]:
        del sys.modules[name]


def import_spandrel() -> ModuleType:
    """The ``spandrel`` module, or a :class:`CheckpointError` saying why it cannot be used."""
    try:
        import spandrel
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise CheckpointError(f"other architectures are unavailable: spandrel failed to load ({err})") from None
        _forget_partial_imports()
        _declare_torchvision_ops()
        try:
            import spandrel
        except Exception as again:  # noqa: BLE001 - any import failure becomes one line
            raise CheckpointError(
                f"other architectures are unavailable: spandrel failed to load ({again})") from None
    except ImportError as err:
        raise CheckpointError(
            f"other architectures are unavailable: spandrel is not installed ({err}); "
            "`pip install spandrel` adds them") from None
    return spandrel
