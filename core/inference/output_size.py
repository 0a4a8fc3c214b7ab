"""Any output size: a factor (e.g. x1.5) or a target width and/or height.

NLSN runs at the nearest of its scales at or above what is asked (x1.5 -> x2, x2.5 -> x3), and
the MATLAB-exact bicubic (``core.image.resize.imresize``, antialiased when it shrinks) takes its
result to the exact size. Beyond x4 the network does x4 and bicubic the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.base.errors import NLSNError
from core.image import Image
from core.image.resize import imresize
from core.network import SCALES


@dataclass(frozen=True)
class OutputSize:
    width: int
    height: int
    scale: int  # the network's scale
    tag: str  # for file names: "x1.5", "1600x1067"

    def exact_for(self, width: int, height: int) -> bool:
        """Whether the network's own output already has this size."""
        return (self.width, self.height) == (width * self.scale, height * self.scale)


def plan_output(width: int, height: int, *, factor: float | None = None, target_width: int | None = None,
                target_height: int | None = None) -> OutputSize:
    """The output of a ``width`` x ``height`` input: by ``factor``, or to a target width and/or
    height (one side alone keeps the aspect ratio)."""
    if factor is not None:
        if target_width or target_height:
            raise NLSNError("give a factor or a target size, not both")
        if not 1.0 <= factor <= 16.0:
            raise NLSNError(f"the factor must be between 1 and 16, got {factor:g}")
        out_w, out_h, tag = round(width * factor), round(height * factor), f"x{factor:g}"
    elif target_width or target_height:
        if (target_width is not None and target_width < 1) or (target_height is not None and target_height < 1):
            raise NLSNError("a target width or height must be at least one pixel")
        ratio = target_width / width if target_width else target_height / height
        out_w = target_width or max(1, round(width * ratio))
        out_h = target_height or max(1, round(height * ratio))
        tag = f"{out_w}x{out_h}"
    else:
        raise NLSNError("give a factor or a target width or height")
    if out_w > 16 * width or out_h > 16 * height:
        raise NLSNError(f"{out_w}x{out_h} is more than 16 times the {width}x{height} input")
    needed = max(out_w / width, out_h / height)
    scale = next((s for s in sorted(SCALES) if s >= needed - 1e-9), max(SCALES))
    return OutputSize(out_w, out_h, scale, tag)


def fit_to(image: Image, size: OutputSize) -> Image:
    """The network's result taken to ``size`` by the MATLAB-exact bicubic (unchanged when exact)."""
    if (image.width, image.height) == (size.width, size.height):
        return image
    shape = (size.height, size.width)
    alpha = None if image.alpha is None else imresize(image.alpha, output_shape=shape)
    return Image(imresize(image.pixels, output_shape=shape), alpha=alpha, **image.metadata())
