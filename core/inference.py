"""Whole-image NLSN inference: device choice, memory budget, tiles only when needed, x8 ensemble.

The sparse attention is global: cutting an image into tiles cuts the attention too, so the whole
image goes through in one pass whenever its estimated peak memory fits the budget; only beyond it
is the image split into overlapping tiles, blended with linear ramps so no seam shows.

Determinism: the LSH rotations of one call are drawn from a CPU generator seeded with ``seed``, in
forward order (ensemble passes, then tiles, then NLSA modules), so the same input, model and seed
give the same output on every run.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.allocator import keep_freed_memory
from core.errors import Cancelled, NLSNError
from core.imageio import Image
from core.interrupt import interruptible
from core.nlsn import NLSN, NLSNConfig
from core.resize import upscale as bicubic_upscale

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

ENSEMBLE_PASSES = 8
DEFAULT_OVERLAP = 16  # LR pixels shared by neighbouring tiles (blended)
MIN_TILE = 48
SAFETY = 1.3  # head-room on the memory estimate
# Host memory per output pixel: float32 RGB accumulator, blend weight, the result and the
# quantised copies (about 7 floats and change).
HOST_BYTES_PER_OUTPUT_PIXEL = 32


# --------------------------------------------------------------------------- device and memory


def available_devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.insert(0, "mps")
    return names


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an explicit device that is absent is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NLSNError("CUDA was asked for, but no CUDA GPU is available on this machine")
        return torch.device(name)
    if name == "mps":
        if "mps" not in available_devices():
            raise NLSNError("MPS was asked for, but it is not available on this machine")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise NLSNError(f"unknown device {name!r}: use auto, cpu, cuda or mps")


def free_memory(device: torch.device) -> int:
    """Bytes we may use on ``device`` now."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_budget(device: torch.device) -> int:
    """Share of the free memory a forward may take: most of a GPU, half of the RAM."""
    share = 0.8 if device.type == "cuda" else 0.5
    return int(free_memory(device) * share)


def peak_bytes(config: NLSNConfig, height: int, width: int, *, element_size: int = 4) -> int:
    """Estimated peak memory of one no-grad forward at LR size height x width.

    Per LR position: a few feature maps alive across the body, plus the largest stage — the
    sparse attention's fast path (per round: the gathered queries, normalised keys and values,
    the outputs and their unsorted copy, int64 indices; the window scores are bounded by a
    constant) or the upsampler (s^2 F channels, twice).
    """
    f, r, k = config.n_feats, config.n_hashes, config.chunk_size
    length = height * width
    k = min(k, max(length, 1))
    c = f // config.reduction
    base = 4 * f
    indices = 8 * 4 // element_size  # four int64 arrays per round, in elements
    attention = r * (2 * c + 3 * f + indices) + 2 * f if config.use_nlsa else 0
    tail = 2 * config.scale**2 * f
    per_position = base + max(attention, 2 * f, tail)
    return int(SAFETY * element_size * per_position * length)


# --------------------------------------------------------------------------- tiles


@dataclass(frozen=True)
class Tile:
    """An LR window [y0, y1) x [x0, x1)."""

    y0: int
    y1: int
    x0: int
    x1: int


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if tile >= size:
        return [0]
    step = tile - overlap
    count = math.ceil((size - tile) / step) + 1
    # Spread the tiles evenly so the last one ends exactly at the border.
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def plan_tiles(height: int, width: int, *, max_positions: int, overlap: int = DEFAULT_OVERLAP) -> list[Tile]:
    """Square-ish tiles of at most ``max_positions`` LR pixels covering the image, overlapping."""
    if height * width <= max_positions:
        return [Tile(0, height, 0, width)]
    side = max(MIN_TILE, int(math.sqrt(max_positions)))
    th, tw = min(side, height), min(side, width)
    # A thin image may use the spare positions along its long side.
    if th < side:
        tw = min(width, max(MIN_TILE, max_positions // th))
    if tw < side:
        th = min(height, max(MIN_TILE, max_positions // tw))
    ov_y, ov_x = min(overlap, th // 2), min(overlap, tw // 2)
    return [
        Tile(y, y + th, x, x + tw)
        for y in _starts(height, th, ov_y)
        for x in _starts(width, tw, ov_x)
    ]


def _ramp(length: int, *, ramp_before: int, ramp_after: int) -> torch.Tensor:
    """1 inside, rising linearly over ``ramp_before`` and falling over ``ramp_after`` samples."""
    w = torch.ones(length)
    if ramp_before:
        w[:ramp_before] = (torch.arange(ramp_before) + 0.5) / ramp_before
    if ramp_after:
        w[length - ramp_after :] = torch.minimum(
            w[length - ramp_after :], ((torch.arange(ramp_after).flip(0)) + 0.5) / ramp_after
        )
    return w


def _blend_weight(tile: Tile, tiles: list[Tile], scale: int) -> torch.Tensor:
    """(sh, sw) weight: ramps only where this tile overlaps a neighbour, 1 elsewhere."""
    before_y = max((t.y1 - tile.y0 for t in tiles if t.y1 > tile.y0 and t.y0 < tile.y0), default=0)
    after_y = max((tile.y1 - t.y0 for t in tiles if t.y0 < tile.y1 and t.y1 > tile.y1), default=0)
    before_x = max((t.x1 - tile.x0 for t in tiles if t.x1 > tile.x0 and t.x0 < tile.x0), default=0)
    after_x = max((tile.x1 - t.x0 for t in tiles if t.x0 < tile.x1 and t.x1 > tile.x1), default=0)
    wy = _ramp((tile.y1 - tile.y0) * scale, ramp_before=before_y * scale, ramp_after=after_y * scale)
    wx = _ramp((tile.x1 - tile.x0) * scale, ramp_before=before_x * scale, ramp_after=after_x * scale)
    return wy[:, None] * wx[None, :]


# --------------------------------------------------------------------------- ensemble transforms


def _transform(x: torch.Tensor, t: int) -> torch.Tensor:
    """One of the 8 dihedral transforms of an (N, C, H, W) tensor."""
    if t & 1:
        x = x.flip(-1)
    if t & 2:
        x = x.flip(-2)
    if t & 4:
        x = x.transpose(-1, -2)
    return x


def _untransform(x: torch.Tensor, t: int) -> torch.Tensor:
    if t & 4:
        x = x.transpose(-1, -2)
    if t & 2:
        x = x.flip(-2)
    if t & 1:
        x = x.flip(-1)
    return x


# --------------------------------------------------------------------------- the upscaler


@dataclass
class RunInfo:
    """What the last call did (for status bars and logs)."""

    seconds: float = 0.0
    tiles: int = 1
    passes: int = 1
    device: str = "cpu"
    half: bool = False


class Upscaler:
    """Runs an :class:`NLSN` on whole images with a memory budget, progress and cancellation."""

    def __init__(
        self,
        model: NLSN,
        *,
        device: str | torch.device = "auto",
        half: bool | None = None,
        memory_budget: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else select_device(device)
        # Half precision on GPUs by default; the CPU stays in fp32 (exact, and fp16 is slow there).
        self.half = (self.device.type == "cuda") if half is None else bool(half)
        if self.half and self.device.type == "cpu":
            raise NLSNError("half precision is only supported on a GPU")
        self.model = model.eval().to(self.device, torch.float16 if self.half else torch.float32)
        self.memory_budget = memory_budget
        self.overlap = overlap
        self.last_run = RunInfo()

    @property
    def scale(self) -> int:
        return self.model.scale

    def max_positions(self) -> int:
        """Largest LR area (pixels) whose forward fits the budget."""
        budget = self.memory_budget if self.memory_budget is not None else default_budget(self.device)
        per_position = peak_bytes(self.model.config, 1, 10_000, element_size=2 if self.half else 4) / 10_000
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
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        transforms = list(range(ENSEMBLE_PASSES)) if ensemble else [0]
        _, _, h, w = lr.shape
        tiles = plan_tiles(h, w, max_positions=self.max_positions(), overlap=self.overlap)
        stages = self._stages()
        total = len(transforms) * len(tiles) * len(stages)
        state = {"done": 0, "pass": 1, "tile": 1}

        def on_stage(_module, _inputs) -> None:
            if cancel is not None and cancel():
                raise Cancelled()
            state["done"] += 1
            if progress is not None:
                where = f"pass {state['pass']}/{len(transforms)}" if len(transforms) > 1 else ""
                if len(tiles) > 1:
                    where += (", " if where else "") + f"tile {state['tile']}/{len(tiles)}"
                progress(min(state["done"] / total, 1.0), where)

        def check_cancel() -> None:
            if cancel is not None and cancel():
                raise Cancelled()

        handles = [m.register_forward_pre_hook(on_stage) for m in stages]
        try:
            with interruptible(check_cancel):  # also checked between blocks of the sparse attention
                acc = torch.zeros(1, 3, h * self.scale, w * self.scale)
                for pass_no, t in enumerate(transforms, start=1):
                    state["pass"] = pass_no
                    x = _transform(lr, t)
                    # A transposed image is covered by the transposed tiles.
                    pass_tiles = _swap(tiles) if t & 4 else tiles
                    acc += _untransform(self._forward_tiles(x, generator, pass_tiles, state), t)
                result = acc / len(transforms)
        finally:
            for handle in handles:
                handle.remove()
        self.last_run = RunInfo(
            seconds=time.perf_counter() - start,
            tiles=len(tiles),
            passes=len(transforms),
            device=str(self.device),
            half=self.half,
        )
        if progress is not None:
            progress(1.0, "done")
        return result

    def _stages(self) -> list[torch.nn.Module]:
        """Modules before each of which progress is reported and cancellation checked."""
        return [self.model.head, *self.model.body, self.model.tail]

    def _forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dtype = torch.float16 if self.half else torch.float32
        out = self.model(x.to(self.device, dtype), generator=generator)
        return out.float().cpu()

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
            state["tile"] = tile_no
            out = self._forward(x[:, :, tile.y0 : tile.y1, tile.x0 : tile.x1], generator)
            wt = _blend_weight(tile, tiles, s)
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
        rgb = torch.from_numpy(image.to_float_rgb()).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)
        sr = self.upscale_tensor(rgb, seed=seed, ensemble=ensemble, progress=progress, cancel=cancel)
        sr = sr[0].permute(1, 2, 0)  # (sH, sW, 3)
        if image.is_grey:
            sr = sr.mean(dim=-1, keepdim=True)
        pixels = quantize(sr, max_value=image.max_value)
        alpha = None
        if image.alpha is not None:
            a = bicubic_upscale(image.alpha_float().astype(np.float64), self.scale)
            alpha = quantize(torch.from_numpy(a), max_value=image.max_value)
        return Image(pixels=pixels, alpha=alpha, source=image.source, format=image.format)


def _swap(tiles: list[Tile]) -> list[Tile]:
    """Tiles of a transposed image."""
    return [Tile(t.x0, t.x1, t.y0, t.y1) for t in tiles]


def quantize(x: torch.Tensor, *, max_value: int) -> np.ndarray:
    """[0, 1] floats to integers exactly as the released code saves results:
    ``x * 255 -> clamp -> round`` (in the tensor's own precision), here for 8 or 16 bits."""
    q = (x * max_value).clamp(0, max_value).round()
    dtype = np.uint8 if max_value == 255 else np.uint16
    return np.ascontiguousarray(q.numpy().astype(dtype))
