"""Tests for core.image.resize: MATLAB-compatible bicubic imresize (NumPy and torch)."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from core.image.resize import downscale, imresize, imresize_torch, modcrop, resize_matrix, upscale

from tests.paths import BENCHMARK as BENCHMARK_ROOT  # noqa: E402

# Cubic kernel (a = -0.5) sampled at the offsets an x2 upscale uses, in 128ths:
# cubic(0.25) = 111/128, cubic(0.75) = 29/128, cubic(1.25) = -9/128, cubic(1.75) = -3/128.
W025, W075, W125, W175 = 111 / 128, 29 / 128, -9 / 128, -3 / 128


def smooth_image(height: int, width: int, channels: int | None = 3, seed: int = 0) -> np.ndarray:
    """Smooth random float image in [0, 1]: a few random sinusoids plus a gradient."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for _ in range(channels or 1):
        fy, fx, phase = rng.uniform(0.01, 0.15, size=2).tolist() + [rng.uniform(0, 6.3)]
        plane = 0.5 + 0.3 * np.sin(fy * yy + fx * xx + phase) + 0.2 * (xx / width - 0.5)
        planes.append(plane)
    image = np.stack(planes, axis=-1)
    return image[:, :, 0] if channels is None else image


# --------------------------------------------------------------------------------------------
# Hand-derived values
# --------------------------------------------------------------------------------------------


def test_upscale_impulse_matches_hand_computed_cubic_weights() -> None:
    # A one-row image: the row axis only copies (all taps clamp to the single row), so the
    # columns show the 1-D kernel. Output x (1-based) samples input u = x/2 + 0.25
    # (= x/scale + 0.5 * (1 - 1/scale)), i.e. u = 0.75, 1.25, 1.75, ..., and the impulse at
    # input pixel 3 receives weight cubic(u - 3), u - 3 = -2.25, -1.75, ..., 3.25.
    row = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    out = upscale(row, 2)
    expected = np.array([0, W175, W125, W075, W025, W025, W075, W125, W175, 0, 0, 0])
    assert out.shape == (2, 12)
    np.testing.assert_allclose(out[0], expected, atol=1e-15)
    np.testing.assert_allclose(out[1], expected, atol=1e-15)


def test_upscale_replicates_edges() -> None:
    # Impulse on the first pixel. Output x samples u = x/2 + 0.25; taps left of the image are
    # clamped to pixel 1, so their weights add up on it:
    #   x=1, u=0.75: taps -2..1 at distances 2.75, 1.75, 0.75, -0.25 -> (0 - 3 + 29 + 111) / 128
    #   x=2, u=1.25: taps -1..1 at distances 2.25, 1.25, 0.25        -> (0 - 9 + 111) / 128
    #   x=3, u=1.75: taps -1..1 at distances 2.75, 1.75, 0.75        -> (0 - 3 + 29) / 128
    #   x=4, u=2.25: taps 0, 1 at distances 2.25, 1.25               -> (0 - 9) / 128
    #   x=5, u=2.75: taps 0, 1 at distances 2.75, 1.75               -> (0 - 3) / 128; then 0.
    # (Zero padding would give 111/128 for the first two outputs instead.)
    row = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    out = upscale(row, 2)[0]
    expected = np.array([137, 102, 26, -9, -3, 0, 0, 0, 0, 0]) / 128
    np.testing.assert_allclose(out, expected, atol=1e-15)


def test_resize_of_constant_is_constant() -> None:
    for scale in (0.25, 1 / 3, 0.5, 0.7, 1.5, 2.0, 3.0, 4.0):
        constant = np.full((23, 17, 3), 0.375)
        np.testing.assert_allclose(imresize(constant, scale=scale), 0.375, atol=1e-12)
        constant_u8 = np.full((23, 17), 200, dtype=np.uint8)
        out = imresize(constant_u8, scale=scale)
        assert out.dtype == np.uint8
        assert np.all(out == 200)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downscale_preserves_linear_ramp_in_interior(factor: int) -> None:
    # The (stretched) kernel is symmetric and its weights sum to one, and output pixel k
    # (0-based) is centred on input coordinate factor * k + (factor - 1) / 2, where the taps are
    # symmetric; so a linear ramp comes out as a linear ramp away from the borders.
    width = 20 * factor
    ramp = np.tile(np.arange(width, dtype=np.float64), (8 * factor, 1))
    out = downscale(ramp, factor)
    centres = factor * np.arange(out.shape[1]) + (factor - 1) / 2
    interior = slice(3, -3)
    np.testing.assert_allclose(out[:, interior], np.broadcast_to(centres, out.shape)[:, interior], atol=1e-10)


def test_downscale_by_two_uses_antialiased_kernel() -> None:
    # Hand-computed: x2 downscale, output 1 centred on u = 1.5; stretched kernel
    # h(d) = 0.5 * cubic(0.5 d) at d = +-0.5, +-1.5, +-2.5, +-3.5:
    # 0.5 * cubic(0.25) = 111/256, 0.5 * cubic(0.75) = 29/256,
    # 0.5 * cubic(1.25) = -9/256, 0.5 * cubic(1.75) = -3/256 (they sum to 1).
    signal = np.zeros((2, 16))
    signal[:, 7] = 1.0  # input column 8 (1-based); two equal rows shrink to one
    out = downscale(signal, 2)[0]
    # Output x samples u = 2x - 0.5 = 1.5, 3.5, ..., 15.5; distances to pixel 8 are
    # -6.5, -4.5, -2.5, -0.5, 1.5, 3.5, 5.5, 7.5.
    expected = np.array([0, 0, -9, 111, 29, -3, 0, 0]) / 256
    np.testing.assert_allclose(out, expected, atol=1e-15)


# --------------------------------------------------------------------------------------------
# Shapes and arguments
# --------------------------------------------------------------------------------------------


def test_output_shapes() -> None:
    image = np.zeros((5, 7, 3))
    assert imresize(image, scale=0.5).shape == (3, 4, 3)  # MATLAB: ceil(scale * size)
    assert imresize(image, output_shape=(9, 2)).shape == (9, 2, 3)
    assert imresize(image[:, :, 0], scale=2).shape == (10, 14)
    assert imresize(image[:, :, :1], scale=2).shape == (10, 14, 1)
    assert downscale(np.zeros((511, 767)), 3).shape == (170, 255)  # floor, not ceil
    assert downscale(np.zeros((510, 510, 3)), 3).shape == (170, 170, 3)
    assert upscale(np.zeros((3, 5, 3)), 4).shape == (12, 20, 3)
    assert modcrop(np.zeros((511, 767, 3)), 4).shape == (508, 764, 3)
    assert modcrop(np.zeros((12, 8)), 4).shape == (12, 8)


def test_float_input_gives_float64_without_clamping() -> None:
    step = np.array([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    out = upscale(step, 3)
    assert out.dtype == np.float64
    assert out.max() > 1.0 and out.min() < 0.0  # cubic overshoot is kept


def test_both_scale_and_shape_and_argument_errors() -> None:
    image = smooth_image(12, 12)
    # output_shape sets the size, scale the kernel: same as downscale's exact 1/3.
    np.testing.assert_array_equal(imresize(image, scale=1 / 3, output_shape=(4, 4)), downscale(image, 3))
    with pytest.raises(ValueError):
        imresize(image)
    with pytest.raises(ValueError):
        imresize(image, scale=0)
    with pytest.raises(ValueError):
        imresize(image, output_shape=(0, 3))
    with pytest.raises(ValueError):
        imresize(np.zeros((2, 3, 4, 5)), scale=2)
    with pytest.raises(TypeError):
        imresize(np.zeros((4, 4), dtype=np.int32), scale=2)
    with pytest.raises(ValueError):
        downscale(image, 0)
    with pytest.raises(ValueError):
        upscale(image, 1.5)  # type: ignore[arg-type]


def test_identity_resize_is_exact() -> None:
    image = smooth_image(9, 13)
    np.testing.assert_array_equal(imresize(image, scale=1.0), image)
    u8 = (image * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(imresize(u8, output_shape=(9, 13)), u8)


# --------------------------------------------------------------------------------------------
# Integer images
# --------------------------------------------------------------------------------------------


def test_uint8_rounds_half_away_from_zero_and_clamps() -> None:
    # Impulse of 64 upscaled x2 (see the impulse test above):
    # 64 * [0, -3, -9, 29, 111, 111, 29, -9, -3, 0, 0, 0] / 128
    #    = [0, -1.5, -4.5, 14.5, 55.5, 55.5, 14.5, -4.5, -1.5, 0, 0, 0], exact in binary.
    # MATLAB rounds halves away from zero (14.5 -> 15, 55.5 -> 56) and clamps the undershoot
    # to 0. (np.round would give 14: it rounds halves to even.)
    row = np.array([[0, 0, 64, 0, 0, 0]], dtype=np.uint8)
    out = upscale(row, 2)
    assert out.dtype == np.uint8
    expected = np.array([0, 0, 0, 15, 56, 56, 15, 0, 0, 0, 0, 0], dtype=np.uint8)
    np.testing.assert_array_equal(out[0], expected)
    np.testing.assert_array_equal(out[1], expected)


def test_uint8_overshoot_is_clamped_to_255() -> None:
    step = np.array([[0, 0, 0, 255, 255, 255]] * 3, dtype=np.uint8)
    out = upscale(step, 4)
    as_float = upscale(step.astype(np.float64), 4)
    assert as_float.max() > 255 and as_float.min() < 0
    assert out.max() == 255 and out.min() == 0
    np.testing.assert_array_equal(out, np.clip(np.floor(as_float + 0.5), 0, 255).astype(np.uint8))


def test_uint16_keeps_dtype_and_range() -> None:
    image = (smooth_image(16, 16) * 65535).round().astype(np.uint16)
    out = downscale(image, 2)
    assert out.dtype == np.uint16
    reference = downscale(image.astype(np.float64), 2)
    # Rounded per pass (like MATLAB), so within one level of the float result per pass.
    assert np.abs(out.astype(np.float64) - reference).max() <= 2.0


def test_uint8_is_quantised_between_passes_like_matlab() -> None:
    # MATLAB rounds to uint8 after the first (row) pass too; emulate it by hand.
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(12, 18), dtype=np.uint8)
    rows_first = imresize(image.astype(np.float64), output_shape=(6, 18))
    rows_first = np.clip(np.floor(rows_first + 0.5), 0, 255)
    both = imresize(rows_first, output_shape=(6, 9))
    expected = np.clip(np.floor(both + 0.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(downscale(image, 2), expected)


# --------------------------------------------------------------------------------------------
# Torch version
# --------------------------------------------------------------------------------------------


def _numpy_batch(x: torch.Tensor, **kwargs: object) -> np.ndarray:
    """Reference: resize every (H, W) plane of an (N, C, H, W) tensor with the NumPy code."""
    planes = x.double().numpy()
    return np.stack(
        [np.stack([imresize(plane, **kwargs) for plane in sample]) for sample in planes]  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": 0.5},
        {"scale": 1 / 3},
        {"scale": 0.25},
        {"scale": 0.7},
        {"scale": 2.0},
        {"scale": 3.0},
        {"output_shape": (10, 31)},
        {"scale": 0.25, "output_shape": (4, 5)},
    ],
)
def test_torch_matches_numpy(kwargs: dict[str, object]) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 17, 23, generator=generator)
    reference = _numpy_batch(x, **kwargs)
    out32 = imresize_torch(x, **kwargs)  # type: ignore[arg-type]
    assert out32.dtype == torch.float32 and out32.shape == reference.shape
    np.testing.assert_allclose(out32.numpy(), reference, atol=1e-5)
    out64 = imresize_torch(x.double(), **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(out64.numpy(), reference, atol=1e-12)


def test_torch_rejects_integer_tensors_and_is_differentiable() -> None:
    with pytest.raises(TypeError):
        imresize_torch(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), scale=2)
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    imresize_torch(x, scale=0.5).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_resize_matrix_rows_sum_to_one() -> None:
    for in_length, out_length in ((10, 5), (9, 3), (4, 16), (7, 11)):
        matrix = resize_matrix(in_length, out_length)
        assert matrix.shape == (out_length, in_length)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Released benchmark LR images (needs the shared data folder)
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not BENCHMARK_ROOT.is_dir(), reason=f"{BENCHMARK_ROOT} not available")
@pytest.mark.parametrize("dataset", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_reproduces_released_lr_images(dataset: str, scale: int) -> None:
    from PIL import Image

    folder = BENCHMARK_ROOT / dataset / f"image_SRF_{scale}"
    hr_files = sorted(folder.glob(f"*_SRF_{scale}_HR.png"))
    assert hr_files, f"no HR images in {folder}"
    for hr_file in hr_files:
        lr_file = hr_file.with_name(hr_file.name.replace("_HR.png", "_LR.png"))
        with Image.open(hr_file) as hr_image, Image.open(lr_file) as lr_image:
            hr = np.asarray(hr_image)
            released = np.asarray(lr_image)
        ours = downscale(modcrop(hr, scale), scale)
        assert ours.shape == released.shape, hr_file.name
        worst = int(np.abs(ours.astype(np.int16) - released.astype(np.int16)).max())
        assert worst <= 1, f"{hr_file.name}: off by {worst} grey levels"
