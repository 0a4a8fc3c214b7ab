"""PSNR and SSIM as used by the super-resolution literature.

The protocol (shared by the MATLAB evaluation scripts of SRCNN, EDSR, RCAN, NLSN...):

* compare on the luma channel Y of YCbCr, ITU-R BT.601 "studio swing":
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for R, G, B in [0, 1], so Y lies in [16, 235];
* crop ``border`` (= the scale factor) pixels from every side before comparing;
* PSNR with a peak of 255;
* SSIM of Wang et al. (``ssim_index.m``): 11 x 11 Gaussian window with sigma 1.5, constants
  ``C1 = (0.01 * 255)^2`` and ``C2 = (0.03 * 255)^2``, statistics over the 'valid' part of the
  image only (MATLAB ``filter2(..., 'valid')``), result = mean of the SSIM map.

Input conventions, for every function here: ``uint8`` images are on 0..255, ``uint16`` images on
0..65535 (rescaled to 0..255), float images on [0, 1]. Images may be (H, W), (H, W, 1) or
(H, W, 3); greyscale images are treated as R = G = B (so their Y is ``16 + 219 * v``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["rgb_to_y", "psnr", "ssim"]

# BT.601 luma weights for R, G, B in [0, 1], giving Y in [16, 235].
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0
_PEAK = 255.0

# SSIM constants from Wang et al. (2004) for 8-bit data.
_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_C1 = (0.01 * _PEAK) ** 2
_SSIM_C2 = (0.03 * _PEAK) ** 2


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


def _to_unit_float(img: np.ndarray) -> np.ndarray:
    """Float64 copy of ``img`` on the [0, 1] scale, per the dtype conventions above."""
    array = np.asarray(img)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float64)
    raise TypeError(f"expected a uint8, uint16 or float image, got dtype {array.dtype}")


def _as_hwc(array: np.ndarray) -> np.ndarray:
    """View an (H, W), (H, W, 1) or (H, W, 3) image as (H, W, C)."""
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3 and array.shape[2] in (1, 3):
        return array
    raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {array.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma Y (float64, unrounded, 16..235) of an RGB or greyscale image.

    uint8 is read as 0..255, uint16 as 0..65535, float as [0, 1]. A greyscale image (H, W) or
    (H, W, 1) is treated as R = G = B. Returns an (H, W) array.
    """
    unit = _as_hwc(_to_unit_float(img))
    if unit.shape[2] == 1:
        # R = G = B = v: the weights add up to 219, which maps [0, 1] onto [16, 235].
        return _Y_OFFSET + float(_Y_WEIGHTS.sum()) * unit[:, :, 0]
    return _Y_OFFSET + unit @ _Y_WEIGHTS


def _prepare(img: np.ndarray, *, y_channel: bool) -> np.ndarray:
    """(H, W, C) float64 on the 0..255 scale: Y only (C = 1) or every channel."""
    if y_channel:
        return rgb_to_y(img)[:, :, None]
    return _as_hwc(_to_unit_float(img) * _PEAK)


def _prepare_pair(
    sr: np.ndarray, hr: np.ndarray, *, border: int, y_channel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes, convert both images and crop ``border`` pixels from every side."""
    sr_array, hr_array = np.asarray(sr), np.asarray(hr)
    if sr_array.shape != hr_array.shape:
        raise ValueError(
            f"image shapes differ: {sr_array.shape} (super-resolved) vs {hr_array.shape} (reference)"
        )
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise ValueError(f"border must be a non-negative integer, got {border!r}")
    height, width = sr_array.shape[:2]
    if 2 * border >= height or 2 * border >= width:
        raise ValueError(f"border {border} leaves nothing of a {height}x{width} image")
    crop = (slice(border, height - border), slice(border, width - border))
    return (
        _prepare(sr_array, y_channel=y_channel)[crop],
        _prepare(hr_array, y_channel=y_channel)[crop],
    )


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def psnr(sr: np.ndarray, hr: np.ndarray, *, border: int, y_channel: bool = True) -> float:
    """Peak signal-to-noise ratio in dB (peak 255), ``inf`` for identical images.

    With ``y_channel=False`` the mean squared error is taken over all channels together.
    """
    sr_values, hr_values = _prepare_pair(sr, hr, border=border, y_channel=y_channel)
    mse = float(np.mean((sr_values - hr_values) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(_PEAK**2 / mse)


def _gaussian_window_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian; the outer product with itself is ``fspecial('gaussian')``."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    window = np.exp(-(offsets**2) / (2.0 * sigma**2))
    return window / window.sum()


def _filter_valid(plane: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation of ``plane`` with ``outer(window, window)``, 'valid' part only.

    Same as MATLAB ``filter2(outer(w, w), plane, 'valid')`` (the window is symmetric, so
    correlation and convolution coincide).
    """
    size = window.shape[0]
    rows = plane.shape[0] - size + 1
    cols = plane.shape[1] - size + 1
    vertical = sum(window[k] * plane[k : k + rows, :] for k in range(size))
    return sum(window[k] * vertical[:, k : k + cols] for k in range(size))


def _ssim_plane(x: np.ndarray, y: np.ndarray, window: np.ndarray) -> float:
    """Mean SSIM of two (H, W) float64 planes on the 0..255 scale."""
    mu_x = _filter_valid(x, window)
    mu_y = _filter_valid(y, window)
    mu_x2, mu_y2, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    sigma_x2 = _filter_valid(x * x, window) - mu_x2
    sigma_y2 = _filter_valid(y * y, window) - mu_y2
    sigma_xy = _filter_valid(x * y, window) - mu_xy
    numerator = (2.0 * mu_xy + _SSIM_C1) * (2.0 * sigma_xy + _SSIM_C2)
    denominator = (mu_x2 + mu_y2 + _SSIM_C1) * (sigma_x2 + sigma_y2 + _SSIM_C2)
    return float(np.mean(numerator / denominator))


def ssim(sr: np.ndarray, hr: np.ndarray, *, border: int, y_channel: bool = True) -> float:
    """Structural similarity (Wang et al. 2004, ``ssim_index.m``), 1.0 for identical images.

    With ``y_channel=False`` SSIM is computed per channel and averaged. The cropped image must
    be at least 11 x 11 (the window size).
    """
    sr_values, hr_values = _prepare_pair(sr, hr, border=border, y_channel=y_channel)
    if min(sr_values.shape[:2]) < _SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels after cropping, "
            f"got {sr_values.shape[0]}x{sr_values.shape[1]}"
        )
    window = _gaussian_window_1d(_SSIM_WINDOW, _SSIM_SIGMA)
    scores = [
        _ssim_plane(sr_values[:, :, c], hr_values[:, :, c], window)
        for c in range(sr_values.shape[2])
    ]
    return float(np.mean(scores))
