"""Reading image files safely: every problem a user can cause is one readable line.

Missing file, folder, not an image, truncated, too large, unreadable: each is raised as
:class:`~core.base.errors.ImageError` whose message starts with the file name. The pixel limit is
checked from the header before any pixel data is decoded. While a header is read, Pillow's own
global decompression-bomb limit is lifted (under a lock) so that the caller's ``max_pixels`` is the
one that counts and the message can name the dimensions. Embedded ICC colour profiles are ignored.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
from collections.abc import Iterator

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from core.base.errors import ImageError
from core.base.text import format_bytes
from core.image.metadata import read_metadata
from core.image.decoders import apply_orientation, decode_opencv, decode_pillow, exif_orientation, opencv_layout
from core.image.formats import DEFAULT_MAX_PIXELS, FORMAT_ALIASES, PIL_FORMATS
from core.image.image import Image
from core.image.names import display_name, printable

# Generous bound on how many file bytes one pixel may take (float RGBA TIFF = 16 bytes), plus
# room for metadata: files bigger than this cannot hold an image within the pixel limit.
_MAX_BYTES_PER_PIXEL = 16
_FILE_SIZE_SLACK = 64 * 1024 * 1024

# Serialises the moments where Pillow's global bomb limit is lifted (see _pil_limit_lifted).
_PIL_LIMIT_LOCK = threading.Lock()


def load_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Read and decode an image file (see the module docstring for what is supported).

    Raises :class:`ImageError` for a missing/unreadable file, a folder, an empty file, a file
    that is not a supported image, a truncated or corrupt one, or one whose width x height
    exceeds ``max_pixels`` (checked from the header, before decoding).
    """
    _check_max_pixels(max_pixels)
    name = display_name(path)
    max_bytes = max_pixels * _MAX_BYTES_PER_PIXEL + _FILE_SIZE_SLACK
    data = _read_file(path, name, max_bytes=max_bytes, max_pixels=max_pixels)
    return _decode(data, name=name, source=os.fsdecode(os.fspath(path)), max_pixels=max_pixels)


def decode_image(
    data: bytes, *, name: str = "<memory>", max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image:
    """Decode an image held in memory; ``name`` is used in error messages and as ``source``."""
    _check_max_pixels(max_pixels)
    return _decode(bytes(data), name=printable(name), source=name, max_pixels=max_pixels)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` read from the header only, as :func:`load_image` would return it.

    An EXIF orientation that rotates by 90 degrees swaps the two, when the orientation can be
    read without decoding (always for JPEG, TIFF and WebP; for PNG when the EXIF chunk comes
    before the pixel data).
    """
    name = display_name(path)
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
                    orientation = exif_orientation(im)
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


def _limit_text(max_pixels: int) -> str:
    if max_pixels % 1_000_000 == 0:
        return f"{max_pixels // 1_000_000}-megapixel limit"
    return f"{max_pixels:,}-pixel limit"


def _read_error(name: str, exc: OSError) -> ImageError:
    """Turn an OSError raised while reading into a user-readable ImageError."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return ImageError(f"{name}: file does not exist")
    if isinstance(exc, IsADirectoryError):
        return ImageError(f"{name}: is a folder, not an image file")
    if isinstance(exc, PermissionError):
        return ImageError(f"{name}: cannot be read (permission denied)")
    reason = exc.strerror or type(exc).__name__
    return ImageError(f"{name}: cannot be read ({printable(reason).lower()})")


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
                    f"{name}: file is too large ({format_bytes(size)}) "
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
            im = PILImage.open(fp, formats=PIL_FORMATS)
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
        fmt = FORMAT_ALIASES.get(im.format or "", im.format or "")
        use_opencv, grey_source = opencv_layout(im, data)
        try:
            if use_opencv:
                pixels, alpha, orientation = decode_opencv(im, data, name, grey_source)
            else:
                pixels, alpha, orientation = decode_pillow(im, name)
        except PILImage.DecompressionBombError as exc:
            raise ImageError(
                f"{name}: {width}x{height} pixels is too large to decode safely"
            ) from exc
        except MemoryError as exc:
            raise ImageError(
                f"{name}: not enough memory to decode a {width}x{height} image"
            ) from exc
        icc, exif = read_metadata(im)
    pixels = apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    return Image(pixels=pixels, alpha=alpha, source=source, format=fmt, icc_profile=icc, exif=exif)
