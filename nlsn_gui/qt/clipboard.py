"""Pixels that arrive as a QImage (clipboard, drops) as an :class:`~core.image.Image`."""

from __future__ import annotations

import numpy as np
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
