"""Tests for core.metrics: BT.601 luma, PSNR and SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.metrics import psnr, rgb_to_y, ssim


def smooth_rgb(height: int = 48, width: int = 40, seed: int = 0) -> np.ndarray:
    """Smooth random uint8 RGB image (random gradients and a low-frequency wave)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for _ in range(3):
        gy, gx, phase = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0, 6.3)
        plane = 128 + 40 * (gy * yy / height + gx * xx / width) + 50 * np.sin(0.2 * xx + 0.1 * yy + phase)
        channels.append(plane)
    return np.clip(np.stack(channels, axis=-1), 0, 255).round().astype(np.uint8)


def gaussian_window_2d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """MATLAB fspecial('gaussian', size, sigma), built directly in 2-D."""
    offsets = np.arange(size) - (size - 1) / 2
    yy, xx = np.meshgrid(offsets, offsets, indexing="ij")
    window = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    return window / window.sum()


def brute_force_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Straightforward per-window SSIM of two 2-D float arrays on 0..255 ('valid' windows)."""
    window = gaussian_window_2d()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            mx, my = (window * px).sum(), (window * py).sum()
            vx = (window * px * px).sum() - mx * mx
            vy = (window * py * py).sum() - my * my
            cxy = (window * px * py).sum() - mx * my
            values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


# --------------------------------------------------------------------------------------------
# rgb_to_y
# --------------------------------------------------------------------------------------------


def test_rgb_to_y_extremes_and_primaries() -> None:
    white = np.full((2, 3, 3), 255, dtype=np.uint8)
    black = np.zeros((2, 3, 3), dtype=np.uint8)
    np.testing.assert_allclose(rgb_to_y(white), 235.0, atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(black), 16.0, atol=1e-12)
    red = np.zeros((1, 1, 3), dtype=np.uint8)
    red[..., 0] = 255
    assert rgb_to_y(red)[0, 0] == pytest.approx(16 + 65.481)
    green = np.zeros((1, 1, 3))
    green[..., 1] = 1.0
    assert rgb_to_y(green)[0, 0] == pytest.approx(16 + 128.553)
    blue = np.zeros((1, 1, 3), dtype=np.uint16)
    blue[..., 2] = 65535
    assert rgb_to_y(blue)[0, 0] == pytest.approx(16 + 24.966)


def test_rgb_to_y_dtypes_agree_and_are_unrounded() -> None:
    image = smooth_rgb()
    y8 = rgb_to_y(image)
    assert y8.dtype == np.float64 and y8.shape == image.shape[:2]
    np.testing.assert_allclose(rgb_to_y(image / 255.0), y8, atol=1e-10)
    np.testing.assert_allclose(rgb_to_y(image.astype(np.uint16) * 257), y8, atol=1e-10)
    assert not np.allclose(y8, np.round(y8))  # not quantised
    pixel = image[5, 7].astype(np.float64)
    expected = 16 + (65.481 * pixel[0] + 128.553 * pixel[1] + 24.966 * pixel[2]) / 255
    assert y8[5, 7] == pytest.approx(expected)


def test_rgb_to_y_greyscale_is_r_equals_g_equals_b() -> None:
    grey = np.array([[0, 128, 255]], dtype=np.uint8)
    as_rgb = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_allclose(rgb_to_y(grey), rgb_to_y(as_rgb), atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(grey[:, :, None]), rgb_to_y(as_rgb), atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(grey), [[16.0, 16 + 219 * 128 / 255, 235.0]], atol=1e-12)


def test_rgb_to_y_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        rgb_to_y(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(TypeError):
        rgb_to_y(np.zeros((4, 4, 3), dtype=np.int32))


# --------------------------------------------------------------------------------------------
# PSNR
# --------------------------------------------------------------------------------------------


def test_psnr_of_known_mse() -> None:
    hr = np.full((20, 20, 3), 100, dtype=np.uint8)
    sr = np.full((20, 20, 3), 110, dtype=np.uint8)
    # All channels: every value off by 10 -> MSE 100.
    assert psnr(sr, hr, border=0, y_channel=False) == pytest.approx(10 * math.log10(255**2 / 100))
    # Y channel: Y differs by 10 * 219 / 255 (the BT.601 weights add up to 219).
    y_mse = (10 * 219 / 255) ** 2
    assert psnr(sr, hr, border=2) == pytest.approx(10 * math.log10(255**2 / y_mse))


def test_psnr_identical_is_infinite_and_border_is_cropped() -> None:
    hr = smooth_rgb()
    assert psnr(hr, hr.copy(), border=0) == float("inf")
    sr = hr.copy()
    sr[:3] = 0  # damage only the top 3 rows
    sr[:, -3:] = 255  # and the right 3 columns
    assert psnr(sr, hr, border=3) == float("inf")
    assert psnr(sr, hr, border=2) < 40


def test_psnr_same_for_uint8_and_float_inputs() -> None:
    hr = smooth_rgb(seed=1)
    sr = smooth_rgb(seed=2)
    expected = psnr(sr, hr, border=4)
    assert psnr(sr / 255.0, hr / 255.0, border=4) == pytest.approx(expected)
    assert psnr(sr.astype(np.uint16) * 257, hr.astype(np.uint16) * 257, border=4) == pytest.approx(expected)


def test_psnr_y_channel_matches_hand_computation() -> None:
    hr = smooth_rgb(seed=3)
    rng = np.random.default_rng(0)
    sr = np.clip(hr.astype(np.int16) + rng.integers(-5, 6, size=hr.shape), 0, 255).astype(np.uint8)
    weights = np.array([65.481, 128.553, 24.966]) / 255
    diff = (sr.astype(np.float64) - hr.astype(np.float64)) @ weights
    mse = np.mean(diff[2:-2, 2:-2] ** 2)
    assert psnr(sr, hr, border=2) == pytest.approx(10 * math.log10(255**2 / mse))


def test_metrics_reject_mismatched_shapes_and_bad_borders() -> None:
    a = np.zeros((20, 20, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, np.zeros((20, 21, 3), dtype=np.uint8), border=0)
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(a, np.zeros((20, 20), dtype=np.uint8), border=0)
    with pytest.raises(ValueError):
        psnr(a, a, border=10)
    with pytest.raises(ValueError):
        psnr(a, a, border=-1)
    with pytest.raises(ValueError):
        ssim(a, a, border=5)  # 10 x 10 left: smaller than the 11 x 11 window


# --------------------------------------------------------------------------------------------
# SSIM
# --------------------------------------------------------------------------------------------


def test_ssim_identical_is_one() -> None:
    hr = smooth_rgb()
    assert ssim(hr, hr.copy(), border=2) == pytest.approx(1.0, abs=1e-12)
    assert ssim(hr, hr.copy(), border=0, y_channel=False) == pytest.approx(1.0, abs=1e-12)


def test_ssim_drops_with_noise() -> None:
    hr = smooth_rgb()
    rng = np.random.default_rng(1)
    light = np.clip(hr + rng.normal(0, 3, hr.shape), 0, 255).astype(np.uint8)
    heavy = np.clip(hr + rng.normal(0, 30, hr.shape), 0, 255).astype(np.uint8)
    light_score = ssim(light, hr, border=2)
    heavy_score = ssim(heavy, hr, border=2)
    assert 0 < heavy_score < light_score < 1


def test_ssim_matches_brute_force_window_computation() -> None:
    hr = smooth_rgb(30, 26, seed=4)
    rng = np.random.default_rng(2)
    sr = np.clip(hr + rng.normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
    expected = brute_force_ssim(rgb_to_y(sr)[3:-3, 3:-3], rgb_to_y(hr)[3:-3, 3:-3])
    assert ssim(sr, hr, border=3) == pytest.approx(expected, abs=1e-12)


def test_ssim_all_channels_is_mean_over_channels() -> None:
    hr = smooth_rgb(32, 32, seed=5)
    rng = np.random.default_rng(3)
    sr = np.clip(hr + rng.normal(0, 10, hr.shape), 0, 255).astype(np.uint8)
    per_channel = [
        brute_force_ssim(sr[2:-2, 2:-2, c].astype(np.float64), hr[2:-2, 2:-2, c].astype(np.float64))
        for c in range(3)
    ]
    assert ssim(sr, hr, border=2, y_channel=False) == pytest.approx(np.mean(per_channel), abs=1e-12)


def test_greyscale_images_are_supported() -> None:
    hr = smooth_rgb()[:, :, 1]
    sr = np.clip(hr.astype(np.int16) + 4, 0, 255).astype(np.uint8)
    as_rgb = (np.repeat(sr[:, :, None], 3, axis=2), np.repeat(hr[:, :, None], 3, axis=2))
    assert psnr(sr, hr, border=2) == pytest.approx(psnr(*as_rgb, border=2))
    assert ssim(sr, hr, border=2) == pytest.approx(ssim(*as_rgb, border=2))
    assert ssim(sr, hr, border=2, y_channel=False) < 1.0
