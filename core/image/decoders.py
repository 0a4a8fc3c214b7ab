"""Turning a file's bytes into upright pixel arrays: Pillow for most, OpenCV for 16-bit colour.

Pillow silently reduces 16-bit RGB(A) PNG and TIFF to 8 bits, so those (detected from the PNG
``IHDR`` chunk / the TIFF ``BitsPerSample`` tag) are decoded with OpenCV instead. 16-bit greyscale
is handled by Pillow (mode ``I;16``) without loss. 32-bit integer and float greyscale TIFFs become
16-bit: integers must already lie in 0..65535, floats in 0..1 (scaled to 0..65535) or 0..65535
(rounded); anything else is refused. CMYK, YCbCr and palette images become RGB;
palette/greyscale/RGB transparency becomes alpha.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
from PIL import Image as PILImage

from core.base.errors import ImageError
from core.image.formats import (
    EXIF_ORIENTATION,
    TIFF_BITS_PER_SAMPLE,
    TIFF_PHOTOMETRIC,
    TIFF_SAMPLES_PER_PIXEL,
)
from core.image.tiff import opencv_orients_tiff


def opencv_layout(im: PILImage.Image, data: bytes) -> tuple[bool, bool]:
    """``(use_opencv, grey)``: whether Pillow would lose bits, and whether the data is grey.

    Pillow decodes 16-bit RGB/RGBA (and grey+alpha) PNG and TIFF to 8 bits, so those go to
    OpenCV. ``grey`` says the colour samples are greyscale (OpenCV expands those to BGR).
    """
    if im.format == "PNG" and len(data) >= 26 and data[12:16] == b"IHDR":
        bit_depth, colour_type = data[24], data[25]
        if bit_depth == 16 and colour_type in (2, 4, 6):  # RGB, grey+alpha, RGBA
            return True, colour_type == 4
    elif im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        bits = tags.get(TIFF_BITS_PER_SAMPLE, (8,))
        bits = tuple(bits) if isinstance(bits, (tuple, list)) else (bits,)
        samples = int(tags.get(TIFF_SAMPLES_PER_PIXEL, 1))
        photometric = int(tags.get(TIFF_PHOTOMETRIC, 2))
        if samples >= 2 and all(b == 16 for b in bits) and photometric in (0, 1, 2):
            return True, photometric != 2  # 0/1 = greyscale (with an extra alpha sample)
    return False, False


def exif_orientation(im: PILImage.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or unreadable). May decode a PNG to find it."""
    try:
        value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # malformed EXIF must not make the image unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Make pixels upright; the same transforms as PIL.ImageOps.exif_transpose, on arrays.

    Works on (H, W) and (H, W, C) arrays; always returns a C-contiguous array.
    """
    if orientation == 2:  # mirrored horizontally
        array = array[:, ::-1]
    elif orientation == 3:  # rotated 180
        array = array[::-1, ::-1]
    elif orientation == 4:  # mirrored vertically
        array = array[::-1]
    elif orientation == 5:  # transpose (mirror across the main diagonal)
        array = array.swapaxes(0, 1)
    elif orientation == 6:  # needs a 90-degree clockwise turn
        array = np.rot90(array, k=-1)
    elif orientation == 7:  # transverse (mirror across the anti-diagonal)
        array = array[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:  # needs a 90-degree anticlockwise turn
        array = np.rot90(array, k=1)
    return np.ascontiguousarray(array)


def decode_pillow(
    im: PILImage.Image, name: str
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Full decode with Pillow; returns (pixels (H,W,C), alpha or None, EXIF orientation)."""
    try:
        with warnings.catch_warnings():
            # We enforce our own limit; Pillow's per-frame warnings would only be noise.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im.load()  # forces the whole decode, so truncation is detected here
    except (PILImage.DecompressionBombError, MemoryError):
        raise
    except Exception as exc:
        raise ImageError(f"{name}: file is truncated or corrupt") from exc
    orientation = exif_orientation(im)
    try:
        pixels, alpha = _pillow_to_arrays(im, name)
    except ImageError:
        raise
    except (PILImage.DecompressionBombError, MemoryError):
        raise
    except Exception as exc:
        raise ImageError(f"{name}: unsupported pixel format ({im.mode})") from exc
    return pixels, alpha, orientation


def _pillow_to_arrays(im: PILImage.Image, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert a loaded Pillow image to (pixels (H,W,1|3), alpha) arrays."""
    mode = im.mode
    transparency = im.info.get("transparency")
    from_palette = False
    if mode == "1":
        im = im.convert("L")
    elif mode in ("P", "PA"):
        from_palette = True
        palette_alpha = im.palette is not None and im.palette.mode == "RGBA"
        has_alpha = mode == "PA" or transparency is not None or palette_alpha
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("L", "RGB") and transparency is not None:
        im = im.convert("LA" if mode == "L" else "RGBA")  # colour-key transparency -> alpha
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode in ("RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")

    if im.mode in ("L", "LA", "RGB", "RGBA"):
        array = np.array(im, dtype=np.uint8)
        if array.ndim == 2:
            array = array[:, :, np.newaxis]
        colour = 3 if im.mode.startswith("RGB") else 1
        pixels = np.ascontiguousarray(array[:, :, :colour])
        alpha = np.ascontiguousarray(array[:, :, colour]) if array.shape[2] > colour else None
        if from_palette and _channels_equal(pixels):
            pixels = np.ascontiguousarray(pixels[:, :, :1])  # a grey palette stays grey
        return pixels, alpha

    # Single-channel modes wider than 8 bits: I;16*, I (int32), F (float32).
    array = np.array(im)
    if array.ndim != 2:
        raise ImageError(f"{name}: unsupported pixel format ({im.mode})")
    grey = _wide_grey_to_uint16(array, name)
    alpha = None
    if transparency is not None and isinstance(transparency, int):
        alpha = np.where(array == transparency, 0, 65535).astype(np.uint16)
    return grey[:, :, np.newaxis], alpha


def _channels_equal(pixels: np.ndarray) -> bool:
    return bool(
        np.array_equal(pixels[:, :, 0], pixels[:, :, 1])
        and np.array_equal(pixels[:, :, 1], pixels[:, :, 2])
    )


def _wide_grey_to_uint16(array: np.ndarray, name: str) -> np.ndarray:
    """16/32-bit integer or float greyscale -> uint16, or ImageError when it cannot fit."""
    if array.dtype.kind == "u" and array.dtype.itemsize <= 2:
        return array.astype(np.uint16)
    if array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise ImageError(
                f"{name}: integer values {low}..{high} do not fit the supported 0-65535 range"
            )
        return array.astype(np.uint16)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ImageError(f"{name}: floating-point image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low >= 0.0 and high <= 1.0:
            scaled = np.rint(array.astype(np.float64) * 65535.0)
        elif low >= 0.0 and high <= 65535.0:
            scaled = np.rint(array.astype(np.float64))
        else:
            raise ImageError(
                f"{name}: floating-point values {low:g}..{high:g} are outside the supported "
                f"0-1 or 0-65535 ranges"
            )
        return scaled.astype(np.uint16)
    raise ImageError(f"{name}: unsupported sample type ({array.dtype})")


def decode_opencv(
    im: PILImage.Image, data: bytes, name: str, grey_source: bool
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decode a 16-bit PNG/TIFF with OpenCV; returns (pixels, alpha, orientation to apply)."""
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"{name}: file is truncated or corrupt") from exc
    if decoded is None:
        raise ImageError(f"{name}: file is truncated or corrupt")
    if decoded.ndim == 2:
        decoded = decoded[:, :, np.newaxis]
    channels = decoded.shape[2]
    if channels in (1, 2):
        pixels, alpha = decoded[:, :, :1], decoded[:, :, 1] if channels == 2 else None
    elif channels in (3, 4):
        pixels = decoded[:, :, :1] if grey_source else decoded[:, :, 2::-1]  # BGR -> RGB
        alpha = decoded[:, :, 3] if channels == 4 else None
    else:
        raise ImageError(f"{name}: unsupported number of channels ({channels})")
    pixels = np.ascontiguousarray(pixels)
    alpha = None if alpha is None else np.ascontiguousarray(alpha)

    if im.format == "TIFF":
        # OpenCV's TIFF reader applies the orientation tag itself in some versions.
        orientation = 1 if opencv_orients_tiff() else exif_orientation(im)
    elif "exif" in im.info or b"eXIf" in data or b"Raw profile type exif" in data:
        # PNG: EXIF found before the pixels is free; one after them (or a false match of the
        # bytes inside compressed data) costs an extra 8-bit Pillow decode to reach it.
        orientation = exif_orientation(im)
    else:
        orientation = 1
    return pixels, alpha, orientation
