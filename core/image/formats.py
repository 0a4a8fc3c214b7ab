"""File formats the program reads and writes, and the header fields it looks at."""

from __future__ import annotations

SUPPORTED_READ = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
SUPPORTED_WRITE = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
# Still images of a training or benchmark folder (a GIF there is most likely not a photo).
IMAGE_EXTENSIONS = frozenset(SUPPORTED_READ) - {".gif"}
DEFAULT_MAX_PIXELS = 100_000_000


# Pillow format names we accept when identifying a file. Pillow's JPEG reader reports a camera
# JPEG that carries extra pictures (previews) as "MPO"; it is still a JPEG to the user.
PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
FORMAT_ALIASES = {"MPO": "JPEG"}

# Extension -> format written.
WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}

# Largest width/height a format can store.
MAX_SIDE = {"JPEG": 65535, "WEBP": 16383}

EXIF_ORIENTATION = 0x0112
TIFF_BITS_PER_SAMPLE = 258
TIFF_PHOTOMETRIC = 262
TIFF_SAMPLES_PER_PIXEL = 277
TIFF_ORIENTATION = 274
TIFF_EXTRA_SAMPLES = 338

