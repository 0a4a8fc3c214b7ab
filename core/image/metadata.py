"""A photo's metadata through the pipeline: its ICC colour profile and its EXIF.

Read with the pixels, kept on the :class:`~core.image.image.Image`, written with the result in
every format that holds them: PNG (iCCP, eXIf, also at 16 bits), JPEG, WebP and TIFF (8-bit
TIFF with EXIF is written uncompressed, since libtiff's encoders refuse an EXIF sub-IFD; 16-bit
TIFF gets its profile, its EXIF sub-IFD and the descriptive IFD0 tags added to OpenCV's file).
BMP holds neither. The pixels are made upright when
read, so the EXIF orientation is reset to 1 (top-left) and never applied twice; its recorded
pixel size is set to the written image's.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image as PILImage

EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769
EXIF_WIDTH, EXIF_HEIGHT = 0xA002, 0xA003  # PixelXDimension, PixelYDimension
EXIF_HEADER = b"Exif\x00\x00"


def read_metadata(im: PILImage.Image) -> tuple[bytes | None, bytes | None]:
    """(ICC profile, EXIF with the orientation reset) of an opened (and, for PNG, decoded) image."""
    icc = im.info.get("icc_profile") or None
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to refuse the pixels
        return icc, None
    if not len(exif) and not exif.get_ifd(EXIF_IFD):
        return icc, None
    if EXIF_ORIENTATION in exif:
        exif[EXIF_ORIENTATION] = 1
    try:
        return icc, exif.tobytes()
    except Exception:  # noqa: BLE001 - an EXIF Pillow cannot write back is left out
        return icc, None


def exif_for(exif: bytes | None, *, width: int, height: int) -> bytes | None:
    """``exif`` for an image of ``width`` x ``height``: upright, and its pixel size the image's."""
    if not exif:
        return None
    parsed = PILImage.Exif()
    try:
        parsed.load(exif)
        if EXIF_ORIENTATION in parsed:
            parsed[EXIF_ORIENTATION] = 1
        sub = parsed.get_ifd(EXIF_IFD)
        if EXIF_WIDTH in sub or EXIF_HEIGHT in sub:
            sub[EXIF_WIDTH], sub[EXIF_HEIGHT] = width, height
        return parsed.tobytes()
    except Exception:  # noqa: BLE001 - write what was read rather than nothing
        return exif


def _tiff_structure(exif: bytes) -> bytes:
    """EXIF as the PNG eXIf chunk wants it: the TIFF structure without the JPEG APP1 header."""
    return exif[len(EXIF_HEADER):] if exif.startswith(EXIF_HEADER) else exif


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_with_metadata(data: bytes, *, icc: bytes | None, exif: bytes | None) -> bytes:
    """Add iCCP and eXIf chunks right after a PNG's IHDR (for PNGs no Pillow wrote: 16 bits)."""
    if not (icc or exif) or data[:8] != b"\x89PNG\r\n\x1a\n":
        return data
    (length,) = struct.unpack_from(">I", data, 8)
    end = 8 + 12 + length  # signature, then IHDR: length, type, payload, CRC
    chunks = b""
    if icc:
        chunks += _chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunks += _chunk(b"eXIf", _tiff_structure(exif))
    return data[:end] + chunks + data[end:]


# IFD0 text tags a camera writes: description, make, model, software, date, artist, copyright.
TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)


def tiff_exif_entries(data: bytes, exif: bytes) -> tuple[bytes, dict[int, tuple[int, int, bytes]]]:
    """(``data`` with the EXIF sub-IFD appended, the IFD0 entries that point to it and hold the
    text tags) for :func:`core.image.tiff.tiff_with_short_tags`."""
    from PIL import TiffImagePlugin

    parsed = PILImage.Exif()
    try:
        parsed.load(exif)
        sub = dict(parsed.get_ifd(EXIF_IFD))
    except Exception:  # noqa: BLE001 - an EXIF we cannot parse is left out
        return data, {}
    order = "<" if data[:2] == b"II" else ">"
    out = bytearray(data)
    entries: dict[int, tuple[int, int, bytes]] = {}
    if sub:
        if len(out) % 2:
            out += b"\x00"
        ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=bytes(data[:2]))
        for tag, value in sub.items():
            ifd[tag] = value
        offset = len(out)
        out += ifd.tobytes(offset)
        entries[EXIF_IFD] = (4, 1, struct.pack(order + "I", offset))  # type 4 = LONG
    for tag in TIFF_TEXT_TAGS:
        if isinstance(parsed.get(tag), str):
            text = parsed[tag].encode("ascii", "replace") + b"\x00"
            entries[tag] = (2, len(text), text)  # type 2 = ASCII
    return bytes(out), entries
