"""The in-memory image: decoded pixels plus an optional alpha channel, and the one quantiser."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    icc_profile: bytes | None = None  # the colour profile, kept into the result (core.image.metadata)
    exif: bytes | None = None  # the EXIF, its orientation reset (the pixels are upright)

    def metadata(self) -> dict:
        """The fields a result made from this image carries over."""
        return {"source": self.source, "format": self.format, "icc_profile": self.icc_profile, "exif": self.exif}

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
        max_value = 65535 if bit_depth == 16 else 255
        pixels = quantise(rgb.astype(np.float32), max_value=max_value)
        alpha_q = None
        if alpha is not None:
            alpha = np.asarray(alpha)
            if alpha.shape != rgb.shape[:2]:
                raise ValueError(f"alpha must have shape {rgb.shape[:2]}, got {alpha.shape}")
            alpha_q = quantise(alpha.astype(np.float32), max_value=max_value)
        return cls(pixels=pixels, alpha=alpha_q, source=source)


def quantise(values: np.ndarray, *, max_value: int) -> np.ndarray:
    """Floats on [0, 1] to integers 0..``max_value`` (255: uint8, 65535: uint16), as the released
    code saves its results: ``x * max -> clamp -> round`` (half to even), in the values' own
    precision (float32 or float64; anything else as float32). NaN becomes 0."""
    scaled = np.asarray(values)
    if scaled.dtype not in (np.float32, np.float64):
        scaled = scaled.astype(np.float32)
    scaled = np.nan_to_num(scaled * scaled.dtype.type(max_value), nan=0.0)
    np.clip(scaled, 0, max_value, out=scaled)
    np.rint(scaled, out=scaled)
    return np.ascontiguousarray(scaled.astype(np.uint16 if max_value == 65535 else np.uint8))


def to_8bit(array: np.ndarray) -> np.ndarray:
    """uint16 -> uint8, rounding to nearest (v / 257, since 65535 = 255 * 257)."""
    return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
