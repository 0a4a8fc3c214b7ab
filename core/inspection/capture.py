"""Capturing one forward: every NLSA module's embeddings, buckets and output, as the forward used them.

:func:`inspect` runs ONE ordinary forward of an :class:`~core.network.NLSN` (the same one
``Upscaler.upscale_tensor(lr, seed=seed)`` runs for a whole image without tiles); the module's own
methods are wrapped for the call, so the forward itself is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from core.attention import Buckets, NonLocalSparseAttention
from core.base.allocator import keep_freed_memory
from core.base.errors import Cancelled
from core.base.interrupt import interruptible
from core.image import image_tensor
from core.inference.upscaler import as_input, for_inference
from core.network import NLSN

CancelFn = Callable[[], bool]


@dataclass
class ModuleCapture:
    """What one NLSA module computed in the inspected forward (batch element 0, float32 CPU).

    ``buckets`` keeps a batch axis of 1: codes (1, R, L), order (1, R*L), so it can be passed
    back to the attention paths of :mod:`core.attention` as is.
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

        def hash_wrapper(x: torch.Tensor, generator: torch.Generator | None = None, **kwargs) -> Buckets:
            bk = hash_(x, generator, **kwargs)
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
    model = for_inference(model, dev, torch.float32)
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
        keep_freed_memory()  # as Upscaler does (core/base/allocator.py)
        with interruptible(check_cancel):  # also between the blocks of the sparse attention
            sr = model(as_input(lr, dev, torch.float32), generator=generator).float().cpu().contiguous()
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


def inspect_image(
    model: NLSN,
    image,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    cancel: CancelFn | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Inspection:
    """:func:`inspect` for an :class:`~core.image.Image`, reporting ``progress(fraction, message)``
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
