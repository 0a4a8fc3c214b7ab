"""Local attribution maps (LAM; Gu & Dong, "Interpreting Super-Resolution Networks with Local
Attribution Maps", CVPR 2021): which LR pixels an output patch depends on, and how spread they are.

Path-integrated gradients along a progressive-blur path, as the authors' reference code computes
them (``GaussianBlurPath`` and ``Path_gradient`` of LAM_Demo):

* the path: gamma(alpha) = the LR image blurred by an isotropic Gaussian of ``kernel`` x ``kernel``
  taps and sigma (1 - alpha) * ``sigma``; gamma(0) is the blurred baseline, gamma(1) the image;
* the detector D: the sum of the output's gradient magnitude sqrt(dx^2 + dy^2) inside the box
  (the paper: a detector of edges and textures, not of the mean colour);
* LAM = mean over ``steps`` points alpha_i = i / steps (i = 1..steps) of
  dD/dgamma(alpha_i) * dgamma/dalpha(alpha_i), a Riemann sum of the path integral, so that its
  sum is about D(image) - D(baseline) (completeness);
* the map: |sum over colour channels|, normalised to a maximum of 1; the diffusion index
  DI = (1 - Gini(map)) * 100: near 0 when a few pixels carry all of it, larger when many do.

Captum's integrated gradients follow straight lines from a baseline; LAM's path is a blur whose
derivative is a difference of blurs, so it is computed here with plain autograd, one forward and
backward per path point. Every point is hashed with the same seed (the same buckets' rotations as
``Upscaler.upscale_tensor(lr, seed=seed)``), so the path changes the image and nothing else.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.base.errors import Cancelled, NLSNError
from core.base.interrupt import interruptible
from core.inference.upscaler import as_input, for_inference, out_of_memory
from core.network import NLSN
from core.network.foreign import ForeignNet

# The defaults of the authors' demo (sigma = 1.2, fold = 50, l = 9, window_size = 16).
DEFAULT_SIGMA = 1.2
DEFAULT_STEPS = 50
DEFAULT_KERNEL = 9
DEFAULT_BOX = 16  # output pixels
GRADIENT_EPS = 1e-8
FAR_RADIUS = 3  # LR pixels around the box's footprint: beyond is "far" (as the attention's local window)  # inside the detector's square root: finite gradients on flat patches

Box = tuple[int, int, int, int]  # (x, y, width, height) in output pixels


@dataclass
class Attribution:
    """A LAM of one output box."""

    box: Box
    region: tuple[int, int, int, int]  # (x0, y0, x1, y1) half-open: the LR pixels the path went through
    map: np.ndarray  # (H, W) float64 in [0, 1]: |LAM| of each LR pixel, normalised to its maximum
    raw: np.ndarray  # (3, H, W) float64: the signed LAM per colour channel (sums to about D(I) - D(base))
    diffusion_index: float  # (1 - Gini(map)) * 100
    gini: float
    far_share: float  # share of the map's sum beyond FAR_RADIUS LR pixels of the box's footprint
    detector: float  # D(image): the gradient magnitude summed over the box
    baseline_detector: float  # D(fully blurred image)
    steps: int
    sigma: float
    kernel: int
    seed: int
    seconds: float

    def summary(self) -> dict:
        """The numbers, for ``--json`` and the app (not the maps)."""
        x, y, w, h = self.box
        return {"box": [x, y, w, h], "diffusion_index": self.diffusion_index, "gini": self.gini, "far_share": self.far_share,
                "detector": self.detector, "baseline_detector": self.baseline_detector,
                "completeness": float(self.raw.sum()), "steps": self.steps, "sigma": self.sigma,
                "kernel": self.kernel, "seed": self.seed, "seconds": self.seconds,
                "size": [int(self.map.shape[1]), int(self.map.shape[0])]}


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """(size, size) float64 isotropic Gaussian summing to 1; sigma 0 is the identity (a delta)."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"the blur kernel needs an odd size, not {size}")
    ax = torch.arange(size, dtype=torch.float64) - size // 2
    if sigma <= 0:
        return ((ax[:, None] == 0) & (ax[None, :] == 0)).to(torch.float64)
    g = torch.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) filtered channel by channel with ``kernel`` (s, s), reflect borders (as OpenCV's
    default BORDER_REFLECT_101)."""
    s = kernel.shape[-1]
    pad = s // 2
    mode = "reflect" if min(image.shape[-2:]) > pad else "replicate"
    padded = F.pad(image, (pad, pad, pad, pad), mode=mode)
    weight = kernel.to(image.dtype).expand(image.shape[1], 1, s, s)
    return F.conv2d(padded, weight, groups=image.shape[1])


def blur_path(lr: torch.Tensor, *, steps: int, sigma: float, kernel: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The path points and their derivatives: (steps, 3, H, W) each, float64.

    Point i (1..steps) is the image blurred with sigma * (1 - i / steps); its derivative along alpha
    is the image filtered with (kernel_i - kernel_{i-1}) * steps (a difference of blurs)."""
    if steps < 1:
        raise ValueError("the path needs at least one step")
    sigmas = np.linspace(sigma, 0.0, steps + 1)
    kernels = [gaussian_kernel(kernel, float(s)) for s in sigmas]
    image = lr.to(torch.float64)
    points = torch.cat([_filter(image, kernels[i]) for i in range(1, steps + 1)])
    derivatives = torch.cat([_filter(image, (kernels[i] - kernels[i - 1]) * steps) for i in range(1, steps + 1)])
    return points, derivatives  # (steps, 3, H, W) each


def gradient_detector(sr: torch.Tensor, box: Box) -> torch.Tensor:
    """D: sum over the box of sqrt(dy^2 + dx^2) of the output (forward differences, all channels),
    as LAM's ``attr_grad``."""
    x, y, w, h = box
    dy = (sr[:, :, :-1, :] - sr[:, :, 1:, :]) ** 2  # (N, 3, sH-1, sW)
    dx = (sr[:, :, :, :-1] - sr[:, :, :, 1:]) ** 2  # (N, 3, sH, sW-1)
    magnitude = torch.sqrt(dy[:, :, :, :-1] + dx[:, :, :-1, :] + GRADIENT_EPS)  # (N, 3, sH-1, sW-1)
    return magnitude[:, :, y : y + h, x : x + w].sum()


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal, towards 1: one value holds all), as
    LAM's reference code: sorted, with a tiny offset so an all-zero map is defined."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        return 0.0
    if v[0] < 0:
        v = v - v[0]
    v = v + 1e-7
    index = np.arange(1, v.size + 1)
    return float(np.sum((2 * index - v.size - 1) * v) / (v.size * np.sum(v)))


def check_box(box: Box, out_width: int, out_height: int) -> Box:
    """The box, checked against the output size (the detector's differences need one pixel more)."""
    x, y, w, h = (int(v) for v in box)
    if w < 1 or h < 1:
        raise NLSNError(f"the box needs a positive width and height, not {w}x{h}")
    if x < 0 or y < 0 or x + w > out_width - 1 or y + h > out_height - 1:
        raise NLSNError(f"the box {x},{y},{w},{h} is not inside the {out_width}x{out_height} output "
                        f"(it must end at least one pixel before its right and bottom edges)")
    return x, y, w, h


def local_attribution(
    model: NLSN | ForeignNet,
    lr: torch.Tensor,
    box: Box,
    *,
    steps: int = DEFAULT_STEPS,
    sigma: float = DEFAULT_SIGMA,
    kernel: int = DEFAULT_KERNEL,
    seed: int = 0,
    context: int | None = None,
    device: str | torch.device = "cpu",
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Attribution:
    """The LAM of output ``box`` (x, y, w, h in output pixels) for ``lr`` (1, 3, H, W) in [0, 1].

    ``context``: the model sees only the LR pixels within that many of the box (faster on large
    images; 0 pixels outside count as attributed nothing); None: the whole image, as the paper.
    One forward and backward in float32 per path point (``steps`` of them) on ``device``; the
    model is left in eval mode there. ``cancel()`` is checked between points and within forwards."""
    if lr.ndim != 4 or lr.shape[:2] != (1, 3):
        raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(lr.shape)}")
    scale = int(model.scale)
    full_h, full_w = lr.shape[-2:]
    box = check_box(box, full_w * scale, full_h * scale)
    region = context_region(box, scale=scale, context=context, width=full_w, height=full_h)
    rx0, ry0, rx1, ry1 = region
    local_box = (box[0] - rx0 * scale, box[1] - ry0 * scale, box[2], box[3])
    dev = torch.device(device)
    dtype = next(model.parameters()).dtype
    model = for_inference(model, dev, torch.float32)

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise Cancelled()

    def detect(image: torch.Tensor) -> tuple[float, torch.Tensor | None]:
        """D at ``image`` (1, 3, H, W) float64 and its gradient with respect to the image."""
        inp = as_input(image, dev, torch.float32).requires_grad_(True)
        generator = torch.Generator(device="cpu").manual_seed(int(seed))  # the same hashing at every point
        value = gradient_detector(model(inp, generator=generator).float(), local_box)
        (grad,) = torch.autograd.grad(value, inp)
        return float(value.detach()), grad.detach().to("cpu", torch.float64)

    start = time.perf_counter()
    # The path is the whole image's blur (its borders are the image's), seen through the region.
    points, derivatives = blur_path(lr, steps=steps, sigma=sigma, kernel=kernel)  # (S, 3, H, W) each
    points, derivatives = points[:, :, ry0:ry1, rx0:rx1], derivatives[:, :, ry0:ry1, rx0:rx1]
    total = torch.zeros_like(points[0])  # (3, H, W)
    needs_grad = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)  # gradients of the input only
        with interruptible(check_cancel), torch.enable_grad():
            base = _filter(lr.to(torch.float64), gaussian_kernel(kernel, sigma))[:, :, ry0:ry1, rx0:rx1]
            baseline_value, _ = detect(base)
            value = baseline_value
            for i in range(steps):
                check_cancel()
                if progress is not None:
                    progress(i / steps, f"path point {i + 1} of {steps}")
                value, grad = detect(points[i : i + 1])
                total += grad[0] * derivatives[i]
    except (RuntimeError, MemoryError) as err:
        if not out_of_memory(err):
            raise
        raise NLSNError(f"out of memory attributing a {rx1 - rx0}x{ry1 - ry0} LR region on {dev}: let the model "
                        "see less of the image around the box (--context, or a smaller Region in the app)") from None
    finally:
        for p, flag in zip(model.parameters(), needs_grad):
            p.requires_grad_(flag)
        model.to(dtype=dtype)
    raw = np.zeros((3, full_h, full_w))  # (3, H, W): LAM = mean over the path of grad * dgamma/dalpha
    raw[:, ry0:ry1, rx0:rx1] = (total / steps).numpy()
    magnitude = np.abs(raw.sum(axis=0))  # (H, W), as LAM's grad_abs_norm
    top = float(magnitude.max())
    normalised = magnitude / top if top > 0 else magnitude
    g = gini(normalised)
    fx0, fy0, fx1, fy1 = context_region(box, scale=scale, context=FAR_RADIUS, width=full_w, height=full_h)
    mass = float(normalised.sum())
    far = 1.0 - float(normalised[fy0:fy1, fx0:fx1].sum()) / mass if mass > 0 else 0.0
    if progress is not None:
        progress(1.0, "done")
    return Attribution(box=box, region=region, map=normalised, raw=raw, diffusion_index=(1.0 - g) * 100.0, gini=g,
                       far_share=max(far, 0.0),
                       detector=value, baseline_detector=baseline_value, steps=int(steps), sigma=float(sigma),
                       kernel=int(kernel), seed=int(seed), seconds=time.perf_counter() - start)


def context_region(box: Box, *, scale: int, context: int | None, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), half-open: the LR pixels within ``context`` of the box's LR footprint
    (the whole image for None)."""
    if context is None:
        return 0, 0, width, height
    x, y, w, h = box
    c = max(int(context), 0)
    return (max(x // scale - c, 0), max(y // scale - c, 0),
            min(-(-(x + w + 1) // scale) + c, width), min(-(-(y + h + 1) // scale) + c, height))


def box_around(x: float, y: float, *, size: int, out_width: int, out_height: int) -> Box:
    """A size x size box centred on output point (x, y), moved inside the output (for a click)."""
    size = max(1, min(int(size), out_width - 1, out_height - 1))
    x0 = int(math.floor(x - size / 2))
    y0 = int(math.floor(y - size / 2))
    x0 = min(max(x0, 0), out_width - 1 - size)
    y0 = min(max(y0, 0), out_height - 1 - size)
    return x0, y0, size, size
