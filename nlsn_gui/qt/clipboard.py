"""What the clipboard or a drop holds: a file to open, or pixels as an :class:`~core.image.Image`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from core.base.errors import NLSNError
from core.image import Image


def qimage_to_image(qimage: QImage) -> Image:
    """RGB, with alpha only when it is used."""
    if qimage.isNull():
        raise NLSNError("the clipboard image is empty")
    rgba = qimage.convertToFormat(QImage.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    array = buffer.reshape(h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()  # (h, w, 4) uint8
    alpha = array[:, :, 3]
    return Image(pixels=array[:, :, :3], alpha=None if alpha.min() == 255 else alpha, source="clipboard")


def mime_contents(mime: QMimeData | None, *, image: QImage | None = None, text_paths: bool = False
                  ) -> tuple[Path | None, Image | None]:
    """(the first local file, else the pixels) of ``mime``; ``image`` is the clipboard's own image.
    ``text_paths``: a path pasted as text counts as a file (the clipboard, not a drop)."""
    if mime is not None and mime.hasUrls():
        files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if files:
            return files[0], None
    if image is None and mime is not None and mime.hasImage():
        image = QImage(mime.imageData())
    if image is not None and not image.isNull():
        return None, qimage_to_image(image)
    if text_paths and mime is not None and mime.hasText() and Path(mime.text().strip()).is_file():
        return Path(mime.text().strip()), None
    return None, None
