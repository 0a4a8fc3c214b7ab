"""Writing an :class:`~core.image.image.Image` atomically in the format its extension names."""

from __future__ import annotations

import io
import os

import cv2
import numpy as np
from PIL import Image as PILImage

from core.base.errors import ImageError
from core.base.fileio import atomic_write, os_error_reason
from core.image.formats import MAX_SIDE, SUPPORTED_WRITE, TIFF_EXTRA_SAMPLES, WRITE_FORMATS
from core.image.image import Image, to_8bit
from core.image.metadata import exif_for, png_with_metadata, tiff_exif_entries
from core.image.names import display_name, printable
from core.image.tiff import TIFF_ICC_PROFILE, tiff_with_short_tags


def save_image(path: str | os.PathLike, image: Image, *, quality: int = 95) -> None:
    """Write ``image`` in the format given by the extension of ``path``, atomically.

    * PNG and TIFF keep 16 bits and alpha; JPEG, WebP and BMP are 8-bit (16-bit data is
      rounded to 8 bits).
    * JPEG and BMP cannot hold alpha: the alpha channel is simply dropped (no compositing).
      WebP has no greyscale mode, so grey is stored as RGB there; 16-bit grey+alpha is stored
      as RGBA (the encoder used for 16 bits has no grey+alpha layout).
    * The ICC profile and EXIF of the image go with it where the format holds them
      (:mod:`core.image.metadata`).
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
    name = display_name(path)
    extension = os.path.splitext(os.fsdecode(os.fspath(path)))[1].lower()
    fmt = WRITE_FORMATS.get(extension)
    if fmt is None:
        shown = f"'{printable(extension)}'" if extension else "no extension"
        raise ImageError(
            f"{name}: cannot save with {shown}; use one of {', '.join(SUPPORTED_WRITE)}"
        )
    image._validate()  # fields may have been replaced since construction
    data = _encode(image, fmt, quality, name)
    _write_atomically(path, data, name)


def _encode(image: Image, fmt: str, quality: int, name: str) -> bytes:
    """Encode to the bytes of a complete file."""
    pixels, alpha = image.pixels, image.alpha
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(image.width, image.height) > limit:
        raise ImageError(
            f"{name}: {image.width}x{image.height} is too large for {fmt} "
            f"(at most {limit} pixels a side); save as PNG or TIFF"
        )
    if image.width == 0 or image.height == 0:
        raise ImageError(f"{name}: cannot save an image with no pixels")
    if fmt in ("JPEG", "BMP"):
        alpha = None  # these formats cannot store it; dropped by design
    icc = image.icc_profile if fmt != "BMP" else None
    exif = exif_for(image.exif, width=image.width, height=image.height) if fmt != "BMP" else None
    try:
        if image.bit_depth == 16 and fmt in ("PNG", "TIFF"):
            data = _encode_opencv16(pixels, alpha, fmt, icc=icc)
            if fmt == "PNG":
                return png_with_metadata(data, icc=icc, exif=exif)
            if exif:
                data, entries = tiff_exif_entries(data, exif)
                data = tiff_with_short_tags(data, {}, entries=entries)
            return data
        if image.bit_depth == 16:
            pixels = to_8bit(pixels)
            alpha = None if alpha is None else to_8bit(alpha)
        return _encode_pillow8(pixels, alpha, fmt, quality, icc=icc, exif=exif)
    except MemoryError as exc:
        raise ImageError(f"{name}: not enough memory to encode the image") from exc
    except Exception as exc:  # an encoder refusing the data; never leak its raw error
        raise ImageError(f"{name}: could not encode the image as {fmt}") from exc


def _encode_pillow8(
    pixels: np.ndarray, alpha: np.ndarray | None, fmt: str, quality: int, *, icc: bytes | None = None,
    exif: bytes | None = None,
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
    if icc:
        options["icc_profile"] = icc
    if exif:
        options["exif"] = exif
        if fmt == "TIFF":  # libtiff's encoders refuse an EXIF sub-IFD: Pillow's own writer, uncompressed
            options.pop("compression")
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _encode_opencv16(pixels: np.ndarray, alpha: np.ndarray | None, fmt: str, *, icc: bytes | None = None) -> bytes:
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
        data = tiff_with_short_tags(data, {TIFF_EXTRA_SAMPLES: 2})
    if fmt == "TIFF" and icc:
        data = tiff_with_short_tags(data, {}, blobs={TIFF_ICC_PROFILE: icc})
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
