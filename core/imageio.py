"""Reading and writing images safely.

Everything the rest of the program knows about image files goes through this module:

* :func:`load_image` / :func:`decode_image` turn a PNG, JPEG, BMP, TIFF, WebP or GIF (first
  frame) into an :class:`Image`: upright (EXIF orientation applied), 8 or 16 bits per sample,
  greyscale or RGB, with the alpha channel kept separately.
* :func:`save_image` writes an :class:`Image` atomically in the format named by the extension.
* :func:`image_size` reads the dimensions from the header without decoding the pixels.

Every problem a user can cause (missing file, not an image, truncated, too large, disk full...)
is raised as :class:`~core.errors.ImageError` with a one-line message that starts with the file
name. Programming mistakes (an ``Image`` built with a float array, ``quality=0``) raise
``ValueError``.

Decoding notes
--------------
* Pillow does most of the work. It silently reduces 16-bit RGB(A) PNG and TIFF to 8 bits, so
  those (detected from the PNG ``IHDR`` chunk / the TIFF ``BitsPerSample`` tag) are decoded
  with OpenCV instead. 16-bit greyscale is handled by Pillow (mode ``I;16``) without loss.
* 32-bit integer and float greyscale TIFFs become 16-bit: integers must already lie in
  0..65535, floats in 0..1 (scaled to 0..65535) or 0..65535 (rounded); anything else is refused.
* CMYK, YCbCr and palette images become RGB; palette/greyscale/RGB transparency becomes alpha.
  Embedded ICC colour profiles are ignored.
* The pixel limit is checked from the header before any pixel data is decoded. While reading a
  header, Pillow's own global decompression-bomb limit is lifted (under a lock) so that the
  caller's ``max_pixels`` is the one that counts and the message can name the dimensions.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from core.errors import ImageError
from core.fileio import atomic_write, os_error_reason

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_READ",
    "SUPPORTED_WRITE",
    "Image",
    "decode_image",
    "image_size",
    "load_image",
    "save_image",
]

SUPPORTED_READ = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
SUPPORTED_WRITE = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
DEFAULT_MAX_PIXELS = 100_000_000

# Pillow format names we accept when identifying a file. Pillow's JPEG reader reports a camera
# JPEG that carries extra pictures (previews) as "MPO"; it is still a JPEG to the user.
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
_FORMAT_ALIASES = {"MPO": "JPEG"}

# Extension -> format written.
_WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}

# Largest width/height a format can store.
_MAX_SIDE = {"JPEG": 65535, "WEBP": 16383}

_EXIF_ORIENTATION = 0x0112
_TIFF_BITS_PER_SAMPLE = 258
_TIFF_PHOTOMETRIC = 262
_TIFF_SAMPLES_PER_PIXEL = 277
_TIFF_ORIENTATION = 274
_TIFF_EXTRA_SAMPLES = 338

# Generous bound on how many file bytes one pixel may take (float RGBA TIFF = 16 bytes), plus
# room for metadata: files bigger than this cannot hold an image within the pixel limit.
_MAX_BYTES_PER_PIXEL = 16
_FILE_SIZE_SLACK = 64 * 1024 * 1024

# Serialises the moments where Pillow's global bomb limit is lifted (see _pil_limit_lifted).
_PIL_LIMIT_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# The in-memory image
# --------------------------------------------------------------------------------------------


@dataclass
class Image:
    """Decoded pixels plus an optional alpha channel.

    ``pixels`` is ``(H, W, C)`` with ``C`` = 1 (greyscale) or 3 (RGB), ``uint8`` or ``uint16``,
    C-contiguous. ``alpha`` is ``(H, W)`` with the same dtype, or ``None``. A 2-D ``pixels``
    array is accepted and stored as ``(H, W, 1)``; non-contiguous arrays are copied.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    source: str = ""  # where it came from, for messages; may be ''
    format: str = ""  # 'PNG', 'JPEG', 'BMP', 'TIFF', 'WEBP', 'GIF' or ''

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        """Check shapes and dtypes (ValueError), normalise to (H, W, C) C-contiguous arrays."""
        pixels = self.pixels
        if not isinstance(pixels, np.ndarray):
            raise ValueError(f"Image.pixels must be a numpy array, not {type(pixels).__name__}")
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            raise ValueError(f"Image.pixels must have shape (H, W, 1 or 3), got {pixels.shape}")
        if pixels.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"Image.pixels must be uint8 or uint16, got {pixels.dtype}")
        self.pixels = np.ascontiguousarray(pixels)
        if self.alpha is not None:
            alpha = self.alpha
            if not isinstance(alpha, np.ndarray) or alpha.shape != pixels.shape[:2]:
                shape = getattr(alpha, "shape", type(alpha).__name__)
                raise ValueError(f"Image.alpha must have shape {pixels.shape[:2]}, got {shape}")
            if alpha.dtype != pixels.dtype:
                raise ValueError(
                    f"Image.alpha dtype {alpha.dtype} differs from pixels dtype {pixels.dtype}"
                )
            self.alpha = np.ascontiguousarray(alpha)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_grey(self) -> bool:
        return self.pixels.shape[2] == 1

    @property
    def bit_depth(self) -> int:
        """8 or 16."""
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def max_value(self) -> int:
        """255 or 65535."""
        return 65535 if self.pixels.dtype == np.uint16 else 255

    def to_float_rgb(self) -> np.ndarray:
        """``(H, W, 3)`` float32 in [0, 1]; greyscale is replicated into three channels."""
        # Divide (not multiply by 1/255): the released loader's ``x.float() / 255``, bit for bit.
        rgb = self.pixels.astype(np.float32)
        rgb /= np.float32(self.max_value)
        if self.is_grey:
            rgb = np.repeat(rgb, 3, axis=2)
        return rgb

    def alpha_float(self) -> np.ndarray | None:
        """``(H, W)`` float32 in [0, 1], or ``None`` without alpha."""
        if self.alpha is None:
            return None
        alpha = self.alpha.astype(np.float32)
        alpha /= np.float32(self.max_value)
        return alpha

    @classmethod
    def from_float_rgb(
        cls,
        rgb: np.ndarray,
        *,
        alpha: np.ndarray | None = None,
        bit_depth: int = 8,
        grey: bool = False,
        source: str = "",
    ) -> Image:
        """Quantise float data in [0, 1] (values outside are clipped, NaN becomes 0).

        ``rgb`` is ``(H, W, 3)``; with ``grey=True`` one channel, the mean of the three, is
        stored. ``alpha`` is ``(H, W)`` float or ``None``. ``bit_depth`` is 8 or 16.
        """
        if bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
        if grey:
            rgb = rgb.mean(axis=2, dtype=np.float64, keepdims=True)
        pixels = _quantise(rgb, bit_depth)
        alpha_q = None
        if alpha is not None:
            alpha = np.asarray(alpha)
            if alpha.shape != rgb.shape[:2]:
                raise ValueError(f"alpha must have shape {rgb.shape[:2]}, got {alpha.shape}")
            alpha_q = _quantise(alpha, bit_depth)
        return cls(pixels=pixels, alpha=alpha_q, source=source)


def _quantise(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float in [0, 1] -> uint8/uint16, rounding to nearest; NaN -> 0, out of range clipped."""
    max_value = 65535 if bit_depth == 16 else 255
    scaled = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    scaled = np.clip(scaled, 0.0, 1.0) * np.float32(max_value)
    np.rint(scaled, out=scaled)
    return scaled.astype(np.uint16 if bit_depth == 16 else np.uint8)


# --------------------------------------------------------------------------------------------
# Public reading API
# --------------------------------------------------------------------------------------------


def load_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Read and decode an image file (see the module docstring for what is supported).

    Raises :class:`ImageError` for a missing/unreadable file, a folder, an empty file, a file
    that is not a supported image, a truncated or corrupt one, or one whose width x height
    exceeds ``max_pixels`` (checked from the header, before decoding).
    """
    _check_max_pixels(max_pixels)
    name = _display_name(path)
    max_bytes = max_pixels * _MAX_BYTES_PER_PIXEL + _FILE_SIZE_SLACK
    data = _read_file(path, name, max_bytes=max_bytes, max_pixels=max_pixels)
    return _decode(data, name=name, source=os.fsdecode(os.fspath(path)), max_pixels=max_pixels)


def decode_image(
    data: bytes, *, name: str = "<memory>", max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image:
    """Decode an image held in memory; ``name`` is used in error messages and as ``source``."""
    _check_max_pixels(max_pixels)
    return _decode(bytes(data), name=_printable(name), source=name, max_pixels=max_pixels)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` read from the header only, as :func:`load_image` would return it.

    An EXIF orientation that rotates by 90 degrees swaps the two, when the orientation can be
    read without decoding (always for JPEG, TIFF and WebP; for PNG when the EXIF chunk comes
    before the pixel data).
    """
    name = _display_name(path)
    _check_is_regular_file(path, name)
    try:
        with open(path, "rb") as fp:
            if os.fstat(fp.fileno()).st_size == 0:
                raise ImageError(f"{name}: file is empty")
            with _open_header(fp, name) as im:
                width, height = im.size
                if im.format == "PNG" and "exif" not in im.info:
                    orientation = 1  # EXIF (if any) is after the pixels: would need a decode
                else:
                    orientation = _exif_orientation(im)
    except OSError as exc:
        raise _read_error(name, exc) from exc
    if orientation >= 5:
        width, height = height, width
    return int(width), int(height)


# --------------------------------------------------------------------------------------------
# Reading helpers
# --------------------------------------------------------------------------------------------


def _check_max_pixels(max_pixels: int) -> None:
    if not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")


def _printable(text: str) -> str:
    """Keep messages on one line whatever odd characters a file name contains."""
    return "".join(ch if ch.isprintable() else "?" for ch in text) or "?"


def _display_name(path: str | os.PathLike) -> str:
    """The file's base name (or the whole path if it has none), safe to put in a message."""
    text = os.fsdecode(os.fspath(path))
    return _printable(os.path.basename(text.rstrip("/\\")) or text)


def _limit_text(max_pixels: int) -> str:
    if max_pixels % 1_000_000 == 0:
        return f"{max_pixels // 1_000_000}-megapixel limit"
    return f"{max_pixels:,}-pixel limit"


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - loop always returns


def _read_error(name: str, exc: OSError) -> ImageError:
    """Turn an OSError raised while reading into a user-readable ImageError."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return ImageError(f"{name}: file does not exist")
    if isinstance(exc, IsADirectoryError):
        return ImageError(f"{name}: is a folder, not an image file")
    if isinstance(exc, PermissionError):
        return ImageError(f"{name}: cannot be read (permission denied)")
    reason = exc.strerror or type(exc).__name__
    return ImageError(f"{name}: cannot be read ({_printable(reason).lower()})")


def _check_is_regular_file(path: str | os.PathLike, name: str) -> None:
    """Distinct messages for a missing path and a folder, before trying to open it."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _read_error(name, exc) from exc
    except ValueError as exc:  # e.g. an embedded NUL character
        raise ImageError(f"{name}: invalid file name") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{name}: is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(f"{name}: not a regular file")


def _read_file(path: str | os.PathLike, name: str, *, max_bytes: int, max_pixels: int) -> bytes:
    """The whole file, or ImageError for anything that makes that impossible or pointless."""
    _check_is_regular_file(path, name)
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size == 0:
                raise ImageError(f"{name}: file is empty")
            if size > max_bytes:
                raise ImageError(
                    f"{name}: file is too large ({_human_bytes(size)}) "
                    f"for the {_limit_text(max_pixels)}"
                )
            data = fp.read()
    except OSError as exc:
        raise _read_error(name, exc) from exc
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to read the file") from exc
    if not data:  # the file shrank between stat and read
        raise ImageError(f"{name}: file is empty")
    return data


@contextlib.contextmanager
def _pil_limit_lifted() -> Iterator[None]:
    """Disable Pillow's global decompression-bomb check while a header is parsed.

    Pillow refuses headers above 2 x ``PIL.Image.MAX_IMAGE_PIXELS`` (about 179 MP) without
    telling us the size. Our own ``max_pixels`` check runs right after identification, so we
    lift Pillow's during ``open`` only (no pixel data is decoded there) and restore it at once.
    """
    with _PIL_LIMIT_LOCK:
        saved = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            PILImage.MAX_IMAGE_PIXELS = saved


@contextlib.contextmanager
def _open_header(fp: io.IOBase, name: str) -> Iterator[PILImage.Image]:
    """Identify the file with Pillow (header only) or raise ImageError."""
    try:
        with _pil_limit_lifted():
            im = PILImage.open(fp, formats=_PIL_FORMATS)
    except UnidentifiedImageError as exc:
        if _has_image_signature(fp):  # starts like an image, but the header is broken
            raise ImageError(f"{name}: file is truncated or corrupt") from exc
        raise ImageError(f"{name}: not an image file (unrecognised format)") from exc
    except PILImage.DecompressionBombError as exc:  # pragma: no cover - limit is lifted
        raise ImageError(f"{name}: image is too large to open safely") from exc
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to read the image header") from exc
    except Exception as exc:  # a recognised signature with a broken header
        raise ImageError(f"{name}: file is truncated or corrupt") from exc
    try:
        yield im
    finally:
        im.close()


def _has_image_signature(fp: io.IOBase) -> bool:
    """Whether the file starts with the magic bytes of one of the supported formats."""
    try:
        fp.seek(0)
        head = fp.read(16)
    except (OSError, ValueError):
        return False
    return (
        head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a"))
        or head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"))  # TIFF, BigTIFF
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def _decode(data: bytes, *, name: str, source: str, max_pixels: int) -> Image:
    """Common decoder behind load_image and decode_image."""
    if not data:
        raise ImageError(f"{name}: file is empty")
    with _open_header(io.BytesIO(data), name) as im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageError(f"{name}: image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise ImageError(
                f"{name}: {width}x{height} pixels is larger than the {_limit_text(max_pixels)}"
            )
        fmt = _FORMAT_ALIASES.get(im.format or "", im.format or "")
        use_opencv, grey_source = _opencv_layout(im, data)
        try:
            if use_opencv:
                pixels, alpha, orientation = _decode_opencv(im, data, name, grey_source)
            else:
                pixels, alpha, orientation = _decode_pillow(im, name)
        except PILImage.DecompressionBombError as exc:
            raise ImageError(
                f"{name}: {width}x{height} pixels is too large to decode safely"
            ) from exc
        except MemoryError as exc:
            raise ImageError(
                f"{name}: not enough memory to decode a {width}x{height} image"
            ) from exc
    pixels = _apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = _apply_orientation(alpha, orientation)
    return Image(pixels=pixels, alpha=alpha, source=source, format=fmt)


def _opencv_layout(im: PILImage.Image, data: bytes) -> tuple[bool, bool]:
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
        bits = tags.get(_TIFF_BITS_PER_SAMPLE, (8,))
        bits = tuple(bits) if isinstance(bits, (tuple, list)) else (bits,)
        samples = int(tags.get(_TIFF_SAMPLES_PER_PIXEL, 1))
        photometric = int(tags.get(_TIFF_PHOTOMETRIC, 2))
        if samples >= 2 and all(b == 16 for b in bits) and photometric in (0, 1, 2):
            return True, photometric != 2  # 0/1 = greyscale (with an extra alpha sample)
    return False, False


def _exif_orientation(im: PILImage.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or unreadable). May decode a PNG to find it."""
    try:
        value = int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # malformed EXIF must not make the image unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
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


def _decode_pillow(
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
    orientation = _exif_orientation(im)
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


def _decode_opencv(
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
        orientation = 1 if _opencv_orients_tiff() else _exif_orientation(im)
    elif "exif" in im.info or b"eXIf" in data or b"Raw profile type exif" in data:
        # PNG: EXIF found before the pixels is free; one after them (or a false match of the
        # bytes inside compressed data) costs an extra 8-bit Pillow decode to reach it.
        orientation = _exif_orientation(im)
    else:
        orientation = 1
    return pixels, alpha, orientation


@functools.cache
def _opencv_orients_tiff() -> bool:
    """Whether cv2.imdecode(IMREAD_UNCHANGED) applies the TIFF orientation tag by itself.

    Checked once on a tiny mirrored (orientation 2) 16-bit RGB TIFF, since this differs
    between OpenCV versions.
    """
    probe = np.zeros((1, 2, 3), dtype=np.uint16)
    probe[0, 0] = 1000
    ok, encoded = cv2.imencode(".tiff", probe)
    if not ok:  # pragma: no cover - OpenCV built without TIFF
        return False
    tagged = _tiff_with_short_tags(encoded.tobytes(), {_TIFF_ORIENTATION: 2})
    decoded = cv2.imdecode(np.frombuffer(tagged, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded is not None and decoded.shape[:2] == (1, 2) and int(decoded[0, 1, 0]) == 1000


def _tiff_with_short_tags(data: bytes, tags: dict[int, int]) -> bytes:
    """Add or replace single-SHORT tags in the first IFD of a classic TIFF.

    A new IFD with the merged, sorted entries is appended to the file and the header is
    pointed at it; the old IFD is left as unused bytes. Data other than a classic TIFF is
    returned unchanged.
    """
    if len(data) < 8 or data[:4] not in (b"II*\x00", b"MM\x00*"):
        return data
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    if ifd + 2 > len(data):
        return data
    (count,) = struct.unpack_from(order + "H", data, ifd)
    end = ifd + 2 + 12 * count
    if end + 4 > len(data):
        return data
    entries: dict[int, bytes] = {}
    for index in range(count):
        entry = data[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        entries[struct.unpack_from(order + "H", entry)[0]] = entry
    next_ifd = data[end : end + 4]
    for tag, value in tags.items():
        entries[tag] = struct.pack(order + "HHIHH", tag, 3, 1, value, 0)  # type 3 = SHORT
    out = bytearray(data)
    if len(out) % 2:
        out += b"\x00"  # IFDs must start on a word boundary
    new_ifd = len(out)
    out += struct.pack(order + "H", len(entries))
    out += b"".join(entries[tag] for tag in sorted(entries))
    out += next_ifd
    struct.pack_into(order + "I", out, 4, new_ifd)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def save_image(path: str | os.PathLike, image: Image, *, quality: int = 95) -> None:
    """Write ``image`` in the format given by the extension of ``path``, atomically.

    * PNG and TIFF keep 16 bits and alpha; JPEG, WebP and BMP are 8-bit (16-bit data is
      rounded to 8 bits).
    * JPEG and BMP cannot hold alpha: the alpha channel is simply dropped (no compositing).
      WebP has no greyscale mode, so grey is stored as RGB there; 16-bit grey+alpha is stored
      as RGBA (the encoder used for 16 bits has no grey+alpha layout).
    * ``quality`` (1..100) applies to JPEG (4:4:4 chroma, no subsampling) and WebP; WebP at
      quality 100 is written lossless.
    * The file is encoded in memory, written to a temporary file in the same folder, flushed
      to disk and renamed over the target, so on any failure the target is untouched and no
      partial or temporary file is left behind.
    """
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
    if not isinstance(image, Image):
        raise ValueError(f"save_image needs an Image, got {type(image).__name__}")
    name = _display_name(path)
    extension = os.path.splitext(os.fsdecode(os.fspath(path)))[1].lower()
    fmt = _WRITE_FORMATS.get(extension)
    if fmt is None:
        shown = f"'{_printable(extension)}'" if extension else "no extension"
        raise ImageError(
            f"{name}: cannot save with {shown}; use one of {', '.join(SUPPORTED_WRITE)}"
        )
    image._validate()  # fields may have been replaced since construction
    data = _encode(image, fmt, quality, name)
    _write_atomically(path, data, name)


def _encode(image: Image, fmt: str, quality: int, name: str) -> bytes:
    """Encode to the bytes of a complete file."""
    pixels, alpha = image.pixels, image.alpha
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(image.width, image.height) > limit:
        raise ImageError(
            f"{name}: {image.width}x{image.height} is too large for {fmt} "
            f"(at most {limit} pixels a side); save as PNG or TIFF"
        )
    if image.width == 0 or image.height == 0:
        raise ImageError(f"{name}: cannot save an image with no pixels")
    if fmt in ("JPEG", "BMP"):
        alpha = None  # these formats cannot store it; dropped by design
    try:
        if image.bit_depth == 16 and fmt in ("PNG", "TIFF"):
            return _encode_opencv16(pixels, alpha, fmt)
        if image.bit_depth == 16:
            pixels = _to_8bit(pixels)
            alpha = None if alpha is None else _to_8bit(alpha)
        return _encode_pillow8(pixels, alpha, fmt, quality)
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to encode the image") from exc
    except Exception as exc:  # an encoder refusing the data; never leak its raw error
        raise ImageError(f"{name}: could not encode the image as {fmt}") from exc


def _to_8bit(array: np.ndarray) -> np.ndarray:
    """uint16 -> uint8, rounding to nearest (v / 257, since 65535 = 255 * 257)."""
    return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _encode_pillow8(
    pixels: np.ndarray, alpha: np.ndarray | None, fmt: str, quality: int
) -> bytes:
    grey = pixels.shape[2] == 1
    if grey and fmt == "WEBP":  # WebP stores colour only
        pixels = np.repeat(pixels, 3, axis=2)
        grey = False
    if alpha is not None:
        array = np.concatenate([pixels, alpha[:, :, np.newaxis]], axis=2)  # LA or RGBA
    else:
        array = pixels[:, :, 0] if grey else pixels  # L or RGB
    # Pillow picks the mode from the uint8 array's shape: (H,W) L, 2 LA, 3 RGB, 4 RGBA.
    pil = PILImage.fromarray(np.ascontiguousarray(array))
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options = {"quality": quality, "subsampling": 0}
    elif fmt == "WEBP":
        options = {"quality": quality, "lossless": quality >= 100}
    elif fmt == "TIFF":
        options = {"compression": "tiff_lzw"}
    elif fmt == "PNG":
        options = {"compress_level": 6}
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _encode_opencv16(pixels: np.ndarray, alpha: np.ndarray | None, fmt: str) -> bytes:
    """16-bit PNG/TIFF via OpenCV (Pillow cannot write 16-bit colour)."""
    if pixels.shape[2] == 1 and alpha is None:
        array = pixels[:, :, 0]
    else:
        rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        bgr = rgb[:, :, ::-1]
        array = bgr if alpha is None else np.concatenate([bgr, alpha[:, :, np.newaxis]], axis=2)
    array = np.ascontiguousarray(array)
    if fmt == "PNG":
        ok, encoded = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    else:
        ok, encoded = cv2.imencode(".tiff", array)
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    data = encoded.tobytes()
    if fmt == "TIFF" and alpha is not None:
        # OpenCV does not mark the 4th sample as alpha; ExtraSamples = 2 (unassociated alpha)
        # makes other programs treat it as transparency.
        data = _tiff_with_short_tags(data, {_TIFF_EXTRA_SAMPLES: 2})
    return data


def _write_error(name: str, exc: OSError) -> ImageError:
    """Turn an OSError raised while writing into a user-readable ImageError."""
    return ImageError(f"{name}: cannot save ({os_error_reason(exc)})")


def _write_atomically(path: str | os.PathLike, data: bytes, name: str) -> None:
    """Write ``data`` to ``path`` so that the target is either fully replaced or untouched."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise _write_error(name, exc) from exc
