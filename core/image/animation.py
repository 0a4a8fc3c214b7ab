"""Animated images (GIF, WebP, APNG): every frame in, every frame out, with its timing and loop.

Frames are read composited to the full canvas (as a viewer shows them), RGB or RGBA, and written
back with the same durations and loop count; GIF gets an adaptive palette per frame (its 256
colours are the format's limit), WebP and APNG keep every colour (WebP at ``quality``, lossless at
100). Written in memory first, then atomically, like every other file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from PIL import ImageSequence

from core.base.errors import ImageError
from core.base.fileio import atomic_write, os_error_reason
from core.image.formats import DEFAULT_MAX_PIXELS
from core.image.image import Image, to_8bit
from core.image.names import display_name

ANIMATED_WRITE = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}  # .png: APNG
MAX_FRAMES = 10_000


@dataclass
class Animation:
    frames: list[Image]  # 8-bit RGB or RGBA, all of one size
    durations: list[int]  # milliseconds each frame shows
    loop: int = 0  # times to play; 0: forever


def frame_count(path: str | os.PathLike) -> int:
    """How many frames the file holds (1 for a still image or a file that is not an image)."""
    try:
        with PILImage.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return 1


def load_animation(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Animation:
    """Every frame of an animated GIF, WebP or PNG (a still image: one frame)."""
    name = display_name(path)
    try:
        data = open(path, "rb").read()
    except OSError as err:
        raise ImageError(f"{name}: cannot be read ({os_error_reason(err)})") from None
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            count = int(getattr(im, "n_frames", 1))
            if count > MAX_FRAMES or count * im.width * im.height > 4 * max_pixels:
                raise ImageError(f"{name}: {count} frames of {im.width}x{im.height} are too many to upscale")
            loop = int(im.info.get("loop", 0) or 0)
            frames, durations = [], []
            for frame in ImageSequence.Iterator(im):
                rgba = np.asarray(frame.convert("RGBA"))
                alpha = rgba[..., 3]
                frames.append(Image(np.ascontiguousarray(rgba[..., :3]),
                                    alpha=None if alpha.min() == 255 else np.ascontiguousarray(alpha),
                                    source=name, format=im.format or ""))
                durations.append(int(frame.info.get("duration", im.info.get("duration", 100)) or 100))
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as err:
        raise ImageError(f"{name}: not a readable animation ({type(err).__name__})") from None
    return Animation(frames, durations, loop)


def save_animation(path: str | os.PathLike, animation: Animation, *, quality: int = 95) -> None:
    """Write ``animation`` as the format ``path``'s extension names (GIF, WebP or APNG)."""
    name = display_name(path)
    fmt = ANIMATED_WRITE.get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is None:
        raise ImageError(f"{name}: an animation is saved as {', '.join(ANIMATED_WRITE)}")
    pictures = []
    for frame in animation.frames:
        pixels = frame.pixels if frame.bit_depth == 8 else to_8bit(frame.pixels)
        rgb = np.repeat(pixels, 3, axis=2) if frame.is_grey else pixels
        alpha = None if frame.alpha is None else (frame.alpha if frame.bit_depth == 8 else to_8bit(frame.alpha))
        array = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=2)
        pictures.append(PILImage.fromarray(np.ascontiguousarray(array)))
    options: dict = {"save_all": True, "append_images": pictures[1:], "duration": animation.durations,
                     "loop": animation.loop}
    if fmt == "GIF":
        options["disposal"] = 2  # each frame replaces the one before (they are full canvases)
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality >= 100)
    buffer = io.BytesIO()
    try:
        pictures[0].save(buffer, format=fmt, **options)
    except (OSError, ValueError) as err:
        raise ImageError(f"{name}: could not encode the animation as {fmt} ({err})") from None
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as err:
        raise ImageError(f"{name}: cannot save ({os_error_reason(err)})") from None
