"""Image I/O: safe reading and atomic writing of PNG, JPEG, BMP, TIFF, WebP (and GIF in), the
MATLAB-exact bicubic resize, and the conversions to tensors, metrics and the screen.

* :func:`load_image` / :func:`decode_image` give an :class:`Image`: upright (EXIF orientation
  applied), 8 or 16 bits per sample, greyscale or RGB, alpha kept separately.
* :func:`save_image` writes an :class:`Image` atomically in the format named by the extension.
* :func:`image_size` reads the dimensions from the header without decoding the pixels.

Every problem a user can cause is an :class:`~core.base.errors.ImageError` whose message starts
with the file name; programming mistakes (an ``Image`` of floats, ``quality=0``) are ``ValueError``.
"""

from core.image.convert import as_rgb_uint8, display_rgb, image_tensor
from core.image.formats import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, SUPPORTED_READ, SUPPORTED_WRITE
from core.image.image import Image, quantise
from core.image.reading import decode_image, image_size, load_image
from core.image.writing import save_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_READ",
    "SUPPORTED_WRITE",
    "Image",
    "as_rgb_uint8",
    "decode_image",
    "display_rgb",
    "image_size",
    "image_tensor",
    "load_image",
    "quantise",
    "save_image",
]
