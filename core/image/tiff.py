"""TIFF details neither Pillow nor OpenCV handles for us: single-SHORT tags, OpenCV's orientation."""

from __future__ import annotations

import functools
import struct

import cv2
import numpy as np

from core.image.formats import TIFF_ORIENTATION


@functools.cache
def opencv_orients_tiff() -> bool:
    """Whether cv2.imdecode(IMREAD_UNCHANGED) applies the TIFF orientation tag by itself.

    Checked once on a tiny mirrored (orientation 2) 16-bit RGB TIFF, since this differs
    between OpenCV versions.
    """
    probe = np.zeros((1, 2, 3), dtype=np.uint16)
    probe[0, 0] = 1000
    ok, encoded = cv2.imencode(".tiff", probe)
    if not ok:  # pragma: no cover - OpenCV built without TIFF
        return False
    tagged = tiff_with_short_tags(encoded.tobytes(), {TIFF_ORIENTATION: 2})
    decoded = cv2.imdecode(np.frombuffer(tagged, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded is not None and decoded.shape[:2] == (1, 2) and int(decoded[0, 1, 0]) == 1000


TIFF_ICC_PROFILE = 34675  # InterColorProfile: the ICC profile's bytes (type UNDEFINED)


def tiff_with_short_tags(data: bytes, tags: dict[int, int], *, blobs: dict[int, bytes] | None = None,
                         entries: dict[int, tuple[int, int, bytes]] | None = None) -> bytes:
    """Add or replace single-SHORT tags, UNDEFINED ``blobs`` and typed ``entries``
    (tag -> (TIFF type, count, value bytes)) in the first IFD of a classic TIFF.

    A new IFD with the merged, sorted entries is appended to the file (after the values that do
    not fit in an entry) and the header is pointed at it; the old IFD is left as unused bytes.
    Data other than a classic TIFF is returned unchanged.
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
    ifd_entries: dict[int, bytes] = {}
    for index in range(count):
        entry = data[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        ifd_entries[struct.unpack_from(order + "H", entry)[0]] = entry
    next_ifd = data[end : end + 4]
    for tag, value in tags.items():
        ifd_entries[tag] = struct.pack(order + "HHIHH", tag, 3, 1, value, 0)  # type 3 = SHORT
    out = bytearray(data)
    typed = {tag: (7, len(blob), blob) for tag, blob in (blobs or {}).items()}  # type 7 = UNDEFINED
    typed.update(entries or {})
    for tag, (kind, count, value) in typed.items():
        if len(out) % 2:
            out += b"\x00"
        if len(value) <= 4:
            ifd_entries[tag] = struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            ifd_entries[tag] = struct.pack(order + "HHII", tag, kind, count, len(out))
            out += value
    if len(out) % 2:
        out += b"\x00"  # IFDs must start on a word boundary
    new_ifd = len(out)
    out += struct.pack(order + "H", len(ifd_entries))
    out += b"".join(ifd_entries[tag] for tag in sorted(ifd_entries))
    out += next_ifd
    struct.pack_into(order + "I", out, 4, new_ifd)
    return bytes(out)
