"""The :class:`Upscaler`: an NLSN on whole images, with a memory budget, progress and cancellation.

The sparse attention is global, so the whole image goes through in one pass whenever its
estimated peak memory fits the budget; only beyond it is it split into tiles (:mod:`.tiles`).

Determinism: the LSH rotations of one call are drawn from a CPU generator seeded with ``seed``, in
forward order (ensemble passes, then tiles, then NLSA modules), so the same input, model and seed
give the same output on every run.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.base.allocator import keep_freed_memory
from core.base.errors import Cancelled, NLSNError
from core.base.interrupt import interruptible
from core.image import Image, image_tensor, quantise
from core.image.resize import upscale as bicubic_upscale
from core.inference.devices import HOST_BYTES_PER_OUTPUT_PIXEL, default_budget, free_memory, peak_bytes, select_device
from core.inference.ensemble import ENSEMBLE_PASSES, transform, untransform
from core.inference.work import StageCosts, WorkMeter, stage_kind
from core.inference.tiles import DEFAULT_OVERLAP, MIN_TILE, Tile, blend_weight, plan_tiles, transposed
from core.network import NLSN
from core.network.attention_settings import attention_settings
from core.network.foreign import ForeignNet

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


PRECISIONS = ("fp32", "fp16", "bf16")
# Another architecture's memory per pixel is not known ahead: whole images up to this many LR pixels,
# tiles of it beyond (and smaller tiles if even those run out of memory).
FOREIGN_POSITIONS = 512 * 512


def out_of_memory(err: BaseException) -> bool:
    """A device (or the CPU's allocator) that could not allocate."""
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(err, RuntimeError) and ("out of memory" in str(err).lower()
                                              or "can't allocate memory" in str(err).lower())


def release_device_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def for_inference(model: NLSN | ForeignNet, device: torch.device, dtype: torch.dtype) -> NLSN | ForeignNet:
    """``model`` in eval mode on ``device`` with channels-last (NHWC) weights.

    With NHWC maps oneDNN's convolutions need no reordered copies of their input and output
    (half a convolution's peak memory, and faster), and the attention's (N, L, C) rows are the
    map itself, with no transposed copies either (docs/performance.md)."""
    return model.eval().to(device, dtype, memory_format=torch.channels_last)


def as_input(x: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """An LR batch laid out as :func:`for_inference` expects it."""
    return x.to(device, dtype).contiguous(memory_format=torch.channels_last)


@dataclass
class RunInfo:
    """What the last call did (for status bars and logs)."""

    seconds: float = 0.0
    tiles: int = 1
    passes: int = 1
    device: str = "cpu"
    half: bool = False
    precision: str = "fp32"
    fell_back: bool = False  # ran out of memory whole, and went on in tiles
    rounds: int | None = None  # hash rounds, when not the model's own

    def text(self) -> str:
        """How it ran, for a status line: ``whole image``, ``9 tiles after running out of memory
        whole, bf16, x8 ensemble``."""
        how = f"{self.tiles} tiles" if self.tiles > 1 else "whole image"
        how += " after running out of memory whole" if self.fell_back else ""
        how += f", {self.precision}" if self.precision != "fp32" else ""
        how += f", {self.rounds} hash round{'s' if self.rounds != 1 else ''}" if self.rounds is not None else ""
        return how + (", x8 ensemble" if self.passes > 1 else "")


class Upscaler:
    """Runs an :class:`NLSN` (or another architecture, :class:`ForeignNet`) on whole images with a
    memory budget, progress and cancellation."""

    def __init__(
        self,
        model: NLSN | ForeignNet,
        *,
        device: str | torch.device = "auto",
        half: bool | None = None,
        precision: str = "auto",
        memory_budget: int | None = None,
        tile: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
        rounds: int | None = None,
        chunk: int | None = None,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else select_device(device)
        # "auto": half precision on GPUs, fp32 on the CPU (exact; fp16 is slow there). "bf16" runs
        # the fp32 weights under bf16 autocast (CPUs with AVX-512 BF16 or AMX, recent GPUs).
        if half is not None:
            precision = "fp16" if half else "fp32"
        foreign = isinstance(model, ForeignNet)
        if precision == "auto":
            half_ok = self.device.type == "cuda" and (not foreign or model.supports_half)
            precision = "fp16" if half_ok else "fp32"
        if precision not in PRECISIONS:
            raise NLSNError(f"unknown precision {precision!r}: use auto, {', '.join(PRECISIONS)}")
        if precision == "fp16" and self.device.type == "cpu":
            raise NLSNError("half precision is only supported on a GPU; on a CPU use bf16 or fp32")
        if foreign and ((precision == "fp16" and not model.supports_half)
                        or (precision == "bf16" and not model.supports_bfloat16)):
            raise NLSNError(f"{model.architecture} does not run in {precision}: use fp32")
        self.precision = precision
        self.half = precision == "fp16"
        self.model = for_inference(model, self.device, torch.float16 if self.half else torch.float32)
        self.memory_budget = memory_budget
        if tile is not None and tile < MIN_TILE:
            raise NLSNError(f"a tile must be at least {MIN_TILE} pixels a side, got {tile}")
        self.tile = tile
        self.overlap = overlap
        # Hash rounds and chunk size of the sparse attention for this upscaler's runs (None: the
        # model's own); the weights do not depend on them (the paper's Table 3 varies them).
        self.rounds, self.chunk = rounds, chunk
        self.last_run = RunInfo()
        self.costs = StageCosts(scale=model.scale)  # what its stages take here, for steady progress

    @property
    def scale(self) -> int:
        return self.model.scale

    def max_positions(self) -> int:
        """Largest LR area (pixels) whose forward fits the budget (or the tile size asked for)."""
        if self.tile is not None:
            return self.tile * self.tile
        if isinstance(self.model, ForeignNet):
            # An architecture that tiles inside itself (or needs the whole image) is given it whole.
            return 1 << 62 if self.model.tiling == "internal" else FOREIGN_POSITIONS
        budget = self.memory_budget if self.memory_budget is not None else default_budget(self.device)
        element = 4 if self.precision == "fp32" else 2
        config = self.model.config
        if self.rounds is not None:
            config = dataclasses.replace(config, n_hashes=self.rounds)
        per_position = peak_bytes(config, 1, 10_000, element_size=element) / 10_000
        return max(MIN_TILE * MIN_TILE, int(budget / per_position))

    def check_output_fits(self, height: int, width: int) -> None:
        """Refuse, before any work, an output whose float accumulators would not fit in RAM."""
        out_pixels = height * width * self.scale**2
        needed = out_pixels * HOST_BYTES_PER_OUTPUT_PIXEL
        available = free_memory(torch.device("cpu"))
        if needed > 0.8 * available:
            raise NLSNError(
                f"the result would be {width * self.scale}x{height * self.scale} pixels "
                f"({out_pixels / 1e6:.0f} MP), needing about {needed / 2**30:.1f} GiB of memory "
                f"while {available / 2**30:.1f} GiB is free; use a smaller image or scale"
            )

    # ------------------------------------------------------------------ tensors

    @torch.no_grad()
    def upscale_tensor(
        self,
        lr: torch.Tensor,
        *,
        seed: int = 0,
        ensemble: bool = False,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> torch.Tensor:
        """lr (1, 3, H, W) float in [0, 1] -> (1, 3, sH, sW) float32 on the CPU, unclamped."""
        if lr.ndim != 4 or lr.shape[:2] != (1, 3):
            raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(lr.shape)}")
        self.check_output_fits(lr.shape[-2], lr.shape[-1])
        start = time.perf_counter()
        # Freed buffers are reused by the next layer and the next image instead of page-faulting
        # in again; ``core.allocator.release_free_memory()`` gives them back (the app does, when idle).
        keep_freed_memory()
        transforms = list(range(ENSEMBLE_PASSES)) if ensemble else [0]
        _, _, h, w = lr.shape
        tiles = plan_tiles(h, w, max_positions=self.max_positions(), overlap=self.overlap)
        fell_back = False
        while True:
            try:
                result = self._run(lr, tiles, transforms, seed=seed, progress=progress, cancel=cancel)
                break
            except Exception as err:  # noqa: BLE001 - only running out of memory is retried
                largest = max(t.area for t in tiles)
                if not out_of_memory(err) or largest <= MIN_TILE * MIN_TILE:
                    raise
                # Out of memory (a GPU's is small, and shared): again in smaller tiles, not a failure.
                release_device_memory(self.device)
                tiles = plan_tiles(h, w, max_positions=max(MIN_TILE * MIN_TILE, largest // 4), overlap=self.overlap)
                fell_back = True
        self.last_run = RunInfo(
            seconds=time.perf_counter() - start,
            tiles=len(tiles),
            passes=len(transforms),
            device=str(self.device),
            half=self.half,
            precision=self.precision,
            fell_back=fell_back,
            rounds=self.rounds if isinstance(self.model, NLSN) else None,
        )
        if progress is not None:
            progress(1.0, "done")
        return result

    def _run(self, lr: torch.Tensor, tiles: list[Tile], transforms: list[int], *, seed: int,
             progress: ProgressFn | None, cancel: CancelFn | None) -> torch.Tensor:
        """One attempt: every pass over every tile, with progress and cancellation."""
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        _, _, h, w = lr.shape
        stages = self._stages()
        kinds = [stage_kind(self.model, stage) for stage in stages]
        meter = WorkMeter(self.costs, kinds, pixels=[t.area for t in tiles], passes=len(transforms))
        state = {"pass": 1, "tile": 1, "pixels": tiles[0].area, "started": 0.0}

        def on_stage(_module, _inputs) -> None:
            if cancel is not None and cancel():
                raise Cancelled()
            state["started"] = time.perf_counter()

        def after_stage(module, _inputs, _output) -> None:
            kind = kinds[stage_index[id(module)]]
            fraction = meter.stage_done(kind, pixels=state["pixels"], seconds=time.perf_counter() - state["started"])
            if progress is not None:
                where = f"pass {state['pass']}/{len(transforms)}" if len(transforms) > 1 else ""
                if len(tiles) > 1:
                    where += (", " if where else "") + f"tile {state['tile']}/{len(tiles)}"
                progress(fraction, where)

        def check_cancel() -> None:
            if cancel is not None and cancel():
                raise Cancelled()

        stage_index = {id(m): i for i, m in enumerate(stages)}
        handles = [m.register_forward_pre_hook(on_stage) for m in stages]
        handles += [m.register_forward_hook(after_stage) for m in stages]
        try:
            with interruptible(check_cancel):  # also checked between blocks of the sparse attention
                acc = torch.zeros(1, 3, h * self.scale, w * self.scale)
                for pass_no, t in enumerate(transforms, start=1):
                    state["pass"] = pass_no
                    x = transform(lr, t)
                    # A transposed image is covered by the transposed tiles.
                    pass_tiles = transposed(tiles) if t & 4 else tiles
                    acc += untransform(self._forward_tiles(x, generator, pass_tiles, state), t)
                result = acc / len(transforms)
        finally:
            for handle in handles:
                handle.remove()
        meter.finish()
        return result

    def _stages(self) -> list[torch.nn.Module]:
        """Modules before each of which progress is reported and cancellation checked (another
        architecture: the whole network, once per tile)."""
        if isinstance(self.model, ForeignNet):
            return [self.model]
        return [self.model.head, *self.model.body, self.model.tail]

    def _forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dtype = torch.float16 if self.half else torch.float32
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"), \
                attention_settings(self.model, rounds=self.rounds, chunk=self.chunk):
            out = self.model(as_input(x, self.device, dtype), generator=generator)
        return out.float().cpu().contiguous()

    def _forward_tiles(
        self, x: torch.Tensor, generator: torch.Generator, tiles: list[Tile], state: dict
    ) -> torch.Tensor:
        """The whole image in one forward, or overlapping tiles blended with linear ramps."""
        if len(tiles) == 1:
            return self._forward(x, generator)
        s = self.scale
        _, _, h, w = x.shape
        acc = torch.zeros(1, 3, h * s, w * s)
        weight = torch.zeros(1, 1, h * s, w * s)
        for tile_no, tile in enumerate(tiles, start=1):
            state["tile"], state["pixels"] = tile_no, tile.area
            out = self._forward(x[:, :, tile.y0 : tile.y1, tile.x0 : tile.x1], generator)
            wt = blend_weight(tile, tiles, s)
            ys, xs = slice(tile.y0 * s, tile.y1 * s), slice(tile.x0 * s, tile.x1 * s)
            acc[:, :, ys, xs] += out * wt
            weight[:, :, ys, xs] += wt
        return acc / weight

    # ------------------------------------------------------------------ images

    def upscale_image(
        self,
        image: Image,
        *,
        seed: int = 0,
        ensemble: bool = False,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> Image:
        """Upscale an :class:`Image`: colour through NLSN, alpha bicubically; grey and 16-bit kept."""
        sr = self.upscale_tensor(image_tensor(image), seed=seed, ensemble=ensemble, progress=progress, cancel=cancel)
        sr = sr[0].permute(1, 2, 0)  # (sH, sW, 3)
        if image.is_grey:
            sr = sr.mean(dim=-1, keepdim=True)
        pixels = quantise(sr.numpy(), max_value=image.max_value)
        alpha = None
        if image.alpha is not None:
            a = bicubic_upscale(image.alpha_float().astype(np.float64), self.scale)
            alpha = quantise(a, max_value=image.max_value)
        return Image(pixels=pixels, alpha=alpha, **image.metadata())
