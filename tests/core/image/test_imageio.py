"""Tests for core.image: formats and modes, EXIF orientation, 16-bit, bad inputs, atomic saves.

Every image is made in code; nothing outside tmp_path is read or written.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

from core.base import fileio
from core.image import reading
from core.image.decoders import apply_orientation
from core.image.formats import SUPPORTED_WRITE
from core.image.tiff import tiff_with_short_tags
from core.base.errors import ImageError
from core.image import Image, decode_image, image_size, load_image, save_image

RNG_SEED = 1234
# Permission tests need a real non-root user: root can read and write anything.
IS_NON_ROOT_POSIX = hasattr(os, "geteuid") and os.geteuid() != 0


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def random_pixels(height: int, width: int, channels: int, dtype=np.uint8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max + 1, (height, width, channels), dtype=dtype)


def smooth_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    """A gradient: lossy codecs reproduce it closely."""
    y, x = np.mgrid[0:height, 0:width]
    channels = [x * 255 / (width - 1), y * 255 / (height - 1), (x + y) * 127 / (width + height)]
    rgb = np.stack(channels, axis=2)
    return np.rint(rgb).astype(np.uint8)


def pil_bytes(im: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def handmade_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A minimal PNG; ``rows`` is the raw scanline data including filter bytes."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def insert_png_exif(data: bytes, orientation: int, *, before_pixels: bool) -> bytes:
    """Add an eXIf chunk carrying ``orientation`` before the first IDAT or before IEND."""
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    if payload.startswith(b"Exif\x00\x00"):
        payload = payload[6:]
    marker = data.index(b"IDAT" if before_pixels else b"IEND") - 4  # start of that chunk
    return data[:marker] + png_chunk(b"eXIf", payload) + data[marker:]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def check_message(err: pytest.ExceptionInfo, name: str, *fragments: str) -> str:
    """The error is one line, starts with the file name and contains every fragment."""
    message = str(err.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{name}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------
# The Image class and float conversions
# --------------------------------------------------------------------------------------------


def test_image_properties_and_validation():
    image = Image(random_pixels(4, 5, 3, np.uint16), alpha=np.zeros((4, 5), np.uint16))
    assert (image.height, image.width, image.is_grey) == (4, 5, False)
    assert (image.bit_depth, image.max_value) == (16, 65535)
    grey = Image(np.zeros((2, 3), np.uint8))  # a 2-D array is stored as (H, W, 1)
    assert grey.pixels.shape == (2, 3, 1) and grey.is_grey and grey.bit_depth == 8
    assert grey.max_value == 255
    strided = Image(random_pixels(4, 6, 3)[:, ::2])
    assert strided.pixels.flags.c_contiguous

    with pytest.raises(ValueError):
        Image(np.zeros((2, 3, 3), np.float32))
    with pytest.raises(ValueError):
        Image(np.zeros((2, 3, 2), np.uint8))
    with pytest.raises(ValueError):
        Image(np.zeros((2, 3, 3), np.uint8), alpha=np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError):
        Image(np.zeros((2, 3, 3), np.uint8), alpha=np.zeros((2, 3), np.uint16))


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("grey", [False, True])
def test_float_round_trip_is_exact(bit_depth, grey):
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    pixels = random_pixels(6, 7, 1 if grey else 3, dtype, seed=3)
    pixels[0, 0] = 0
    pixels[0, 1] = np.iinfo(dtype).max
    alpha = random_pixels(6, 7, 1, dtype, seed=4)[:, :, 0]
    image = Image(pixels, alpha=alpha)

    rgb = image.to_float_rgb()
    assert rgb.dtype == np.float32 and rgb.shape == (6, 7, 3)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    if grey:
        assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])
    alpha_f = image.alpha_float()
    assert alpha_f is not None and alpha_f.dtype == np.float32

    back = Image.from_float_rgb(rgb, alpha=alpha_f, bit_depth=bit_depth, grey=grey, source="x")
    assert back.pixels.dtype == dtype and back.source == "x"
    assert np.array_equal(back.pixels, pixels)
    assert np.array_equal(back.alpha, alpha)


def test_from_float_rgb_clips_rounds_and_averages():
    rgb = np.array([[[-0.5, 0.5, 2.0], [np.nan, 1.0, 0.0]]], dtype=np.float32)
    image = Image.from_float_rgb(rgb)
    assert image.pixels.tolist() == [[[0, 128, 255], [0, 255, 0]]]
    assert image.alpha is None and image.alpha_float() is None
    grey = Image.from_float_rgb(np.full((1, 1, 3), [0.0, 0.5, 1.0]), grey=True, bit_depth=16)
    assert grey.pixels.shape == (1, 1, 1) and int(grey.pixels[0, 0, 0]) == 32768
    with pytest.raises(ValueError):
        Image.from_float_rgb(rgb, bit_depth=12)
    with pytest.raises(ValueError):
        Image.from_float_rgb(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        Image.from_float_rgb(np.zeros((2, 2, 3)), alpha=np.zeros((3, 3)))


# --------------------------------------------------------------------------------------------
# Round trips through every writable format
# --------------------------------------------------------------------------------------------

LOSSLESS = [".png", ".tif", ".tiff", ".bmp", ".webp"]  # WebP at quality 100 is lossless
ALPHA_FORMATS = {".png", ".tif", ".tiff", ".webp"}


@pytest.mark.parametrize("ext", LOSSLESS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_lossless_round_trip_8bit(tmp_path, ext, channels, with_alpha):
    pixels = random_pixels(9, 13, channels, seed=5)
    alpha = random_pixels(9, 13, 1, seed=6)[:, :, 0] if with_alpha else None
    path = tmp_path / f"out{ext}"
    save_image(path, Image(pixels, alpha=alpha), quality=100)
    loaded = load_image(path)

    assert loaded.pixels.dtype == np.uint8
    assert loaded.source == str(path)
    assert loaded.format == {".tif": "TIFF", ".tiff": "TIFF"}.get(ext, ext[1:].upper())
    if channels == 1 and ext == ".webp":  # WebP has no greyscale: comes back as equal RGB
        assert loaded.pixels.shape == (9, 13, 3)
        assert np.array_equal(loaded.pixels, np.repeat(pixels, 3, axis=2))
    else:
        assert np.array_equal(loaded.pixels, pixels)
    if with_alpha and ext in ALPHA_FORMATS:
        assert np.array_equal(loaded.alpha, alpha)
    else:
        assert loaded.alpha is None  # BMP drops alpha by design


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".webp"])
@pytest.mark.parametrize("grey", [False, True])
def test_lossy_round_trip_is_close(tmp_path, ext, grey):
    rgb = smooth_rgb()
    pixels = rgb[:, :, :1] if grey else rgb
    path = tmp_path / f"out{ext}"
    save_image(path, Image(pixels), quality=90)
    loaded = load_image(path)
    assert loaded.pixels.shape[:2] == pixels.shape[:2]
    assert loaded.is_grey == (grey and ext != ".webp")
    reference = pixels if loaded.pixels.shape == pixels.shape else np.repeat(pixels, 3, axis=2)
    error = np.abs(loaded.pixels.astype(int) - reference.astype(int)).mean()
    assert error < 3.0


def test_jpeg_and_bmp_drop_alpha(tmp_path):
    pixels = smooth_rgb(16, 16)
    alpha = np.zeros((16, 16), np.uint8)  # fully transparent: dropped, not composited
    for ext in (".jpg", ".bmp"):
        save_image(tmp_path / f"a{ext}", Image(pixels, alpha=alpha))
        loaded = load_image(tmp_path / f"a{ext}")
        assert loaded.alpha is None
        assert np.abs(loaded.pixels.astype(int) - pixels.astype(int)).mean() < 3.0


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("channels,with_alpha", [(1, False), (3, False), (3, True)])
def test_16bit_kept_exactly(tmp_path, ext, channels, with_alpha):
    pixels = random_pixels(5, 11, channels, np.uint16, seed=7)
    pixels[0, 0] = 0
    pixels[0, 1] = 65535
    pixels[0, 2] = 257  # values that 8 bits could not hold
    pixels[0, 3] = 1
    alpha = random_pixels(5, 11, 1, np.uint16, seed=8)[:, :, 0] if with_alpha else None
    path = tmp_path / f"deep{ext}"
    save_image(path, Image(pixels, alpha=alpha))
    loaded = load_image(path)
    assert loaded.bit_depth == 16 and loaded.pixels.dtype == np.uint16
    assert np.array_equal(loaded.pixels, pixels)
    if with_alpha:
        assert loaded.alpha is not None and loaded.alpha.dtype == np.uint16
        assert np.array_equal(loaded.alpha, alpha)
    else:
        assert loaded.alpha is None


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16bit_grey_with_alpha_is_saved_as_rgba(tmp_path, ext):
    pixels = random_pixels(4, 6, 1, np.uint16, seed=9)
    alpha = random_pixels(4, 6, 1, np.uint16, seed=10)[:, :, 0]
    save_image(tmp_path / f"la{ext}", Image(pixels, alpha=alpha))
    loaded = load_image(tmp_path / f"la{ext}")
    assert np.array_equal(loaded.pixels, np.repeat(pixels, 3, axis=2))
    assert np.array_equal(loaded.alpha, alpha)


def test_16bit_tiff_alpha_is_marked_as_alpha(tmp_path):
    image = Image(random_pixels(3, 4, 3, np.uint16), alpha=np.zeros((3, 4), np.uint16))
    save_image(tmp_path / "a.tiff", image)
    with PILImage.open(tmp_path / "a.tiff") as im:
        assert im.tag_v2.get(338) == (2,)  # ExtraSamples = unassociated alpha


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".bmp"])
def test_16bit_rounded_to_8bit_for_8bit_formats(tmp_path, ext):
    values = np.array([0, 128, 129, 385, 386, 32767, 65407, 65535], dtype=np.uint16)
    pixels = np.repeat(np.tile(values, (8, 1))[:, :, np.newaxis], 3, axis=2)
    save_image(tmp_path / f"r{ext}", Image(pixels), quality=100)
    loaded = load_image(tmp_path / f"r{ext}")
    assert loaded.pixels.dtype == np.uint8
    expected = np.rint(values / 257.0).astype(int)  # [0, 0, 1, 1, 2, 127, 255, 255]
    if ext == ".jpg":
        assert np.abs(loaded.pixels[:, :, 0].astype(int) - expected).max() <= 2
    else:
        assert np.array_equal(loaded.pixels[4, :, 0], expected)


def test_saved_file_has_normal_permissions(tmp_path):
    path = tmp_path / "p.png"
    save_image(path, Image(random_pixels(2, 2, 3)))
    assert path.stat().st_mode & 0o777 == fileio._new_file_mode()
    os.chmod(path, 0o640)
    save_image(path, Image(random_pixels(2, 2, 3)))  # replacing keeps the old permissions
    assert path.stat().st_mode & 0o777 == 0o640


def test_bit_exact_alpha_kept_in_webp(tmp_path):
    pixels = random_pixels(8, 8, 3, seed=11)
    alpha = random_pixels(8, 8, 1, seed=12)[:, :, 0]
    save_image(tmp_path / "a.webp", Image(pixels, alpha=alpha), quality=80)  # lossy colour
    loaded = load_image(tmp_path / "a.webp")
    assert loaded.alpha is not None
    assert np.abs(loaded.alpha.astype(int) - alpha.astype(int)).max() <= 1


# --------------------------------------------------------------------------------------------
# Modes written by other programs
# --------------------------------------------------------------------------------------------


def test_one_bit_becomes_8bit_grey(tmp_path):
    bits = PILImage.new("1", (5, 3), 0)
    bits.putpixel((1, 2), 1)
    for fmt, ext in (("PNG", ".png"), ("TIFF", ".tif"), ("BMP", ".bmp"), ("GIF", ".gif")):
        loaded = load_image(write(tmp_path / f"bits{ext}", pil_bytes(bits, fmt)))
        assert loaded.pixels.shape == (3, 5, 1) and loaded.pixels.dtype == np.uint8
        assert int(loaded.pixels[2, 1, 0]) == 255 and int(loaded.pixels[0, 0, 0]) == 0


def test_greyscale_and_grey_alpha(tmp_path):
    grey = random_pixels(6, 4, 1, seed=13)[:, :, 0]
    alpha = random_pixels(6, 4, 1, seed=14)[:, :, 0]
    loaded = load_image(write(tmp_path / "g.png", pil_bytes(PILImage.fromarray(grey), "PNG")))
    assert loaded.is_grey and np.array_equal(loaded.pixels[:, :, 0], grey) and loaded.alpha is None
    la = PILImage.fromarray(np.stack([grey, alpha], axis=2))
    loaded = load_image(write(tmp_path / "la.png", pil_bytes(la, "PNG")))
    assert loaded.is_grey and np.array_equal(loaded.pixels[:, :, 0], grey)
    assert np.array_equal(loaded.alpha, alpha)


def test_rgba_from_pillow(tmp_path):
    rgba = random_pixels(5, 7, 4, seed=15)
    data = pil_bytes(PILImage.fromarray(rgba), "PNG")
    loaded = load_image(write(tmp_path / "c.png", data))
    assert np.array_equal(loaded.pixels, rgba[:, :, :3])
    assert np.array_equal(loaded.alpha, rgba[:, :, 3])


def test_palette_without_and_with_transparency(tmp_path):
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9)
    im = PILImage.new("P", (4, 3), 0)
    im.putpalette(palette)
    im.putpixel((1, 1), 1)
    im.putpixel((2, 2), 2)

    plain = load_image(write(tmp_path / "p.png", pil_bytes(im, "PNG")))
    assert plain.pixels.shape == (3, 4, 3) and plain.alpha is None
    assert plain.pixels[0, 0].tolist() == [255, 0, 0] and plain.pixels[1, 1].tolist() == [0, 255, 0]

    for fmt, ext in (("PNG", ".png"), ("GIF", ".gif")):
        loaded = load_image(write(tmp_path / f"t{ext}", pil_bytes(im, fmt, transparency=0)))
        assert loaded.pixels.shape == (3, 4, 3)
        assert loaded.alpha is not None and loaded.alpha.dtype == np.uint8
        assert int(loaded.alpha[0, 0]) == 0 and int(loaded.alpha[1, 1]) == 255
        assert loaded.pixels[2, 2].tolist() == [0, 0, 255]


def test_grey_palette_stays_grey(tmp_path):
    im = PILImage.new("P", (3, 2), 1)
    im.putpalette([v for i in range(256) for v in (i, i, i)])
    loaded = load_image(write(tmp_path / "gp.png", pil_bytes(im, "PNG")))
    assert loaded.is_grey and int(loaded.pixels[0, 0, 0]) == 1


def test_colour_key_transparency_becomes_alpha(tmp_path):
    grey = PILImage.new("L", (3, 2), 7)
    grey.putpixel((0, 0), 9)
    loaded = load_image(write(tmp_path / "gk.png", pil_bytes(grey, "PNG", transparency=7)))
    assert loaded.is_grey and loaded.alpha.tolist() == [[255, 0, 0], [0, 0, 0]]
    rgb = PILImage.new("RGB", (2, 1), (1, 2, 3))
    rgb.putpixel((1, 0), (4, 5, 6))
    loaded = load_image(write(tmp_path / "ck.png", pil_bytes(rgb, "PNG", transparency=(1, 2, 3))))
    assert loaded.alpha.tolist() == [[0, 255]] and loaded.pixels[0, 1].tolist() == [4, 5, 6]


@pytest.mark.parametrize("fmt,ext", [("JPEG", ".jpg"), ("TIFF", ".tif")])
def test_cmyk_becomes_rgb(tmp_path, fmt, ext):
    cmyk = PILImage.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red
    loaded = load_image(write(tmp_path / f"cmyk{ext}", pil_bytes(cmyk, fmt)))
    assert loaded.pixels.shape == (8, 8, 3) and loaded.alpha is None
    red, green, blue = (int(v) for v in loaded.pixels[4, 4])
    assert red > 240 and green < 15 and blue < 15


def test_16bit_grey_png_written_by_pillow(tmp_path):
    values = np.array([[0, 1, 256, 65535], [1000, 40000, 2, 3]], dtype=np.uint16)
    im = PILImage.fromarray(values)
    assert im.mode == "I;16"
    loaded = load_image(write(tmp_path / "g16.png", pil_bytes(im, "PNG")))
    assert loaded.pixels.dtype == np.uint16 and loaded.is_grey
    assert np.array_equal(loaded.pixels[:, :, 0], values)


def test_16bit_rgb_png_is_not_reduced(tmp_path):
    pixels = random_pixels(3, 5, 3, np.uint16, seed=16)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[:, :, ::-1]))  # written as BGR
    assert ok
    loaded = load_image(write(tmp_path / "rgb48.png", encoded.tobytes()))
    assert loaded.pixels.dtype == np.uint16 and np.array_equal(loaded.pixels, pixels)


def test_16bit_grey_alpha_png(tmp_path):
    la = random_pixels(3, 4, 2, np.uint16, seed=17)
    rows = b"".join(b"\x00" + la[y].astype(">u2").tobytes() for y in range(3))
    loaded = load_image(write(tmp_path / "la16.png", handmade_png(4, 3, 16, 4, rows)))
    assert loaded.is_grey and loaded.pixels.dtype == np.uint16
    assert np.array_equal(loaded.pixels[:, :, 0], la[:, :, 0])
    assert np.array_equal(loaded.alpha, la[:, :, 1])


def test_32bit_integer_and_float_tiff(tmp_path):
    ints = np.array([[0, 300, 65535]], dtype=np.int32)
    loaded = load_image(write(tmp_path / "i.tif", pil_bytes(PILImage.fromarray(ints), "TIFF")))
    assert loaded.pixels.dtype == np.uint16 and loaded.pixels[:, :, 0].tolist() == [[0, 300, 65535]]

    unit = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    loaded = load_image(write(tmp_path / "f.tif", pil_bytes(PILImage.fromarray(unit), "TIFF")))
    assert loaded.pixels[:, :, 0].tolist() == [[0, 32768, 65535]]

    wide = np.array([[0.0, 2.4, 60000.0]], dtype=np.float32)
    loaded = load_image(write(tmp_path / "w.tif", pil_bytes(PILImage.fromarray(wide), "TIFF")))
    assert loaded.pixels[:, :, 0].tolist() == [[0, 2, 60000]]


@pytest.mark.parametrize(
    "mode,values,fragment",
    [
        ("I", [[0, 70000]], "0..70000"),
        ("I", [[-5, 10]], "-5..10"),
        ("F", [[-1.0, 0.5]], "outside"),
        ("F", [[np.nan, 0.5]], "NaN"),
    ],
)
def test_32bit_tiff_out_of_range_is_refused(tmp_path, mode, values, fragment):
    dtype = np.int32 if mode == "I" else np.float32
    data = pil_bytes(PILImage.fromarray(np.array(values, dtype=dtype)), "TIFF")
    with pytest.raises(ImageError) as err:
        load_image(write(tmp_path / "deep.tif", data))
    check_message(err, "deep.tif", fragment)


def test_animated_gif_gives_first_frame(tmp_path):
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9)
    frames = []
    for index in range(3):
        frame = PILImage.new("P", (6, 4), index)
        frame.putpalette(palette)
        frames.append(frame)
    data = pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    with PILImage.open(io.BytesIO(data)) as check:
        assert check.n_frames == 3
    loaded = load_image(write(tmp_path / "anim.gif", data))
    assert loaded.format == "GIF" and loaded.pixels.shape == (4, 6, 1)  # black: grey palette
    assert int(loaded.pixels.max()) == 0


def test_animated_webp_gives_first_frame(tmp_path):
    frames = [PILImage.new("RGB", (6, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    loaded = load_image(write(tmp_path / "anim.webp", data))
    assert loaded.pixels[0, 0].tolist() == [255, 0, 0]


def test_multi_picture_jpeg_reports_jpeg(tmp_path):
    first, second = PILImage.fromarray(smooth_rgb(16, 16)), PILImage.new("RGB", (8, 8))
    data = pil_bytes(first, "MPO", save_all=True, append_images=[second])
    with PILImage.open(io.BytesIO(data)) as check:
        assert check.format == "MPO"
    loaded = load_image(write(tmp_path / "camera.jpg", data))
    assert loaded.format == "JPEG" and loaded.pixels.shape == (16, 16, 3)


def test_decode_image_from_memory():
    data = pil_bytes(PILImage.fromarray(random_pixels(3, 3, 3)), "PNG")
    loaded = decode_image(data, name="clipboard")
    assert loaded.source == "clipboard" and loaded.format == "PNG"
    with pytest.raises(ImageError) as err:
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, name="clipboard")
    check_message(err, "clipboard")
    with pytest.raises(ImageError) as err:
        decode_image(b"")
    check_message(err, "<memory>", "empty")


# --------------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------------


def test_exif_rotated_jpeg_comes_out_upright(tmp_path):
    # Stored 40 wide x 20 high with a red top-left corner; orientation 6 means "turn 90 degrees
    # clockwise to view", so upright it is 20 wide x 40 high with the red corner at top right.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:5, :5] = (255, 0, 0)
    im = PILImage.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    path = write(tmp_path / "rotated.jpg", pil_bytes(im, "JPEG", exif=exif, quality=95))

    loaded = load_image(path)
    assert loaded.pixels.shape == (40, 20, 3)
    red, green, blue = (int(v) for v in loaded.pixels[1, 18])
    assert red > 200 and green < 50 and blue < 50
    assert int(loaded.pixels[1, 1].max()) < 50  # top-left is black now
    assert image_size(path) == (20, 40)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_match_pillow(tmp_path, orientation):
    rgba = random_pixels(3, 5, 4, seed=orientation)
    im = PILImage.fromarray(rgba)
    exif = im.getexif()
    exif[0x0112] = orientation
    data = pil_bytes(im, "PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))))
    loaded = load_image(write(tmp_path / "o.png", data))
    assert np.array_equal(loaded.pixels, expected[:, :, :3])
    assert np.array_equal(loaded.alpha, expected[:, :, 3])


@pytest.mark.parametrize("before_pixels", [True, False])
def test_exif_orientation_applied_to_16bit_png(tmp_path, before_pixels):
    pixels = random_pixels(2, 4, 3, np.uint16, seed=18)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[:, :, ::-1]))
    assert ok
    data = insert_png_exif(encoded.tobytes(), 6, before_pixels=before_pixels)
    loaded = load_image(write(tmp_path / "r16.png", data))
    assert loaded.pixels.dtype == np.uint16
    assert np.array_equal(loaded.pixels, np.rot90(pixels, k=-1))


@pytest.mark.parametrize("orientation", [1, 2, 3, 6, 8])
def test_tiff_orientation_applied_once_for_16bit(tmp_path, orientation):
    pixels = random_pixels(2, 3, 3, np.uint16, seed=19)
    ok, encoded = cv2.imencode(".tiff", np.ascontiguousarray(pixels[:, :, ::-1]))
    assert ok
    data = tiff_with_short_tags(encoded.tobytes(), {274: orientation})
    loaded = load_image(write(tmp_path / "r16.tif", data))
    assert np.array_equal(loaded.pixels, apply_orientation(pixels, orientation))


def test_tiff_orientation_for_8bit(tmp_path):
    pixels = random_pixels(2, 3, 3, seed=20)
    im = PILImage.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 8
    loaded = load_image(write(tmp_path / "r8.tif", pil_bytes(im, "TIFF", exif=exif)))
    assert np.array_equal(loaded.pixels, np.rot90(pixels, k=1))


# --------------------------------------------------------------------------------------------
# image_size
# --------------------------------------------------------------------------------------------


def test_image_size_reads_header_only(tmp_path):
    path = write(tmp_path / "s.png", pil_bytes(PILImage.new("RGB", (31, 17)), "PNG"))
    assert image_size(path) == (31, 17)
    huge = handmade_png(60000, 60000, 8, 2, b"\x00")  # header only: no decode, no limit
    assert image_size(write(tmp_path / "huge.png", huge)) == (60000, 60000)
    jpeg = jpeg_data(64, 48)
    truncated = jpeg[:-100]  # pixel data cut, header intact
    assert image_size(write(tmp_path / "cut.jpg", truncated)) == (64, 48)


def test_image_size_errors(tmp_path):
    cases = {
        "missing.png": "does not exist",
        "empty.png": "empty",
        "text.png": "not an image file",
        "folder.png": "folder",
    }
    write(tmp_path / "empty.png", b"")
    write(tmp_path / "text.png", b"hello, I am not a picture\n")
    (tmp_path / "folder.png").mkdir()
    for name, fragment in cases.items():
        with pytest.raises(ImageError) as err:
            image_size(tmp_path / name)
        check_message(err, name, fragment)


# --------------------------------------------------------------------------------------------
# Bad inputs: each one a distinct one-line ImageError
# --------------------------------------------------------------------------------------------


def png_data(width: int = 64, height: int = 48) -> bytes:
    return pil_bytes(PILImage.fromarray(random_pixels(height, width, 3, seed=21)), "PNG")


def jpeg_data(width: int = 64, height: int = 48) -> bytes:
    return pil_bytes(PILImage.fromarray(smooth_rgb(height, width)), "JPEG", quality=90)


@pytest.mark.parametrize(
    "name,data,fragment",
    [
        ("empty.png", b"", "file is empty"),
        ("noise.jpg", np.random.default_rng(RNG_SEED).bytes(4096), "not an image file"),
        ("notes.png", b"This is a text file, not a PNG.\n" * 20, "not an image file"),
        ("cut.png", png_data()[:2000], "truncated or corrupt"),
        ("cut.jpg", jpeg_data()[:700], "truncated or corrupt"),
        ("header.png", b"\x89PNG\r\n\x1a\n\x00\x00", "truncated or corrupt"),
        (
            "bomb.png",
            handmade_png(60000, 60000, 8, 2, b"\x00"),
            "60000x60000 pixels is larger than the 100-megapixel limit",
        ),
        ("bomb16.png", handmade_png(60000, 60000, 16, 6, b"\x00"), "60000x60000 pixels"),
        ("zero.bmp", b"BM" + b"\x00" * 60, ""),
    ],
)
def test_bad_files_raise_image_error(tmp_path, name, data, fragment):
    path = write(tmp_path / name, data)
    with pytest.raises(ImageError) as err:
        load_image(path)
    check_message(err, name, fragment)
    with pytest.raises(ImageError) as err:
        decode_image(data, name=name)
    check_message(err, name, fragment)


def test_truncated_16bit_png(tmp_path):
    ok, encoded = cv2.imencode(".png", random_pixels(64, 64, 3, np.uint16))
    assert ok
    data = encoded.tobytes()
    with pytest.raises(ImageError) as err:
        load_image(write(tmp_path / "cut16.png", data[: len(data) // 2]))
    check_message(err, "cut16.png", "truncated or corrupt")


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    path = write(tmp_path / "small.png", png_data(40, 30))
    assert load_image(path, max_pixels=1200).width == 40  # exactly at the limit is fine
    with pytest.raises(ImageError) as err:
        load_image(path, max_pixels=1199)
    check_message(err, "small.png", "40x30 pixels is larger than the 1,199-pixel limit")
    with pytest.raises(ValueError):
        load_image(path, max_pixels=0)


def test_pillow_bomb_limit_is_restored(tmp_path):
    saved = PILImage.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError):
        load_image(write(tmp_path / "bomb.png", handmade_png(60000, 60000, 8, 2, b"\x00")))
    assert PILImage.MAX_IMAGE_PIXELS == saved


def test_file_far_too_big_for_the_limit_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "_FILE_SIZE_SLACK", 0)
    path = write(tmp_path / "big.png", png_data(16, 16))
    with pytest.raises(ImageError) as err:
        load_image(path, max_pixels=10)  # allows 160 bytes
    check_message(err, "big.png", "too large")


def test_directory_and_missing_path(tmp_path):
    (tmp_path / "photos.png").mkdir()
    with pytest.raises(ImageError) as folder_err:
        load_image(tmp_path / "photos.png")
    check_message(folder_err, "photos.png", "is a folder")
    with pytest.raises(ImageError) as missing_err:
        load_image(tmp_path / "nope.png")
    check_message(missing_err, "nope.png", "does not exist")
    with pytest.raises(ImageError) as parent_err:
        load_image(tmp_path / "no_such_folder" / "x.png")
    check_message(parent_err, "x.png", "does not exist")
    assert str(folder_err.value) != str(missing_err.value)


@pytest.mark.skipif(not IS_NON_ROOT_POSIX, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path):
    path = write(tmp_path / "secret.png", png_data())
    os.chmod(path, 0)
    try:
        with pytest.raises(ImageError) as err:
            load_image(path)
        check_message(err, "secret.png", "permission denied")
    finally:
        os.chmod(path, 0o600)


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    """The same as above, for when the tests run as root: open() itself is refused."""
    path = write(tmp_path / "secret.png", png_data())
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    for function in (load_image, image_size):
        with pytest.raises(ImageError) as err:
            function(path)
        check_message(err, "secret.png", "permission denied")


def test_odd_file_names_stay_on_one_line(tmp_path):
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "two\nlines.png")
    check_message(err, "two?lines.png", "does not exist")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt metadata
def test_random_corruption_never_escapes_as_raw_error():
    """Flip bytes in valid files of every format: either an Image or an ImageError."""
    rng = np.random.default_rng(RNG_SEED)
    rgb = PILImage.fromarray(smooth_rgb(24, 32))
    samples = [
        pil_bytes(rgb, "PNG"),
        pil_bytes(rgb, "JPEG"),
        pil_bytes(rgb, "BMP"),
        pil_bytes(rgb, "TIFF"),
        pil_bytes(rgb, "WEBP"),
        pil_bytes(rgb.convert("P"), "GIF"),
        cv2.imencode(".png", random_pixels(8, 8, 3, np.uint16))[1].tobytes(),
        cv2.imencode(".tiff", random_pixels(8, 8, 3, np.uint16))[1].tobytes(),
    ]
    for sample in samples:
        for _ in range(40):
            data = bytearray(sample)
            for position in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
                data[position] = int(rng.integers(0, 256))
            cut = int(rng.integers(len(data) // 2, len(data) + 1))
            try:
                decode_image(bytes(data[:cut]), name="fuzz.bin")
            except ImageError as exc:
                assert "\n" not in str(exc) and str(exc).startswith("fuzz.bin: ")


# --------------------------------------------------------------------------------------------
# Saving failures: nothing partial left behind
# --------------------------------------------------------------------------------------------


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / "missing" / "out.png", Image(random_pixels(2, 2, 3)))
    check_message(err, "out.png", "folder does not exist")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("name", ["out.gif", "out.xyz", "out"])
def test_save_with_unsupported_extension(tmp_path, name):
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / name, Image(random_pixels(2, 2, 3)))
    check_message(err, name, ".png, .jpg, .jpeg, .tif, .tiff, .webp, .bmp")
    assert files_in(tmp_path) == []


def test_save_onto_a_folder(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / "out.png", Image(random_pixels(2, 2, 3)))
    check_message(err, "out.png", "folder")


def test_save_bad_quality_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        save_image(tmp_path / "q.jpg", Image(random_pixels(2, 2, 3)), quality=0)


def test_save_too_wide_for_webp(tmp_path):
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / "wide.webp", Image(np.zeros((1, 16384, 3), np.uint8)))
    check_message(err, "wide.webp", "too large for WEBP")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tiff"])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_disk_full_leaves_nothing_behind(tmp_path, monkeypatch, ext, bit_depth):
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    existing = tmp_path / f"keep{ext}"
    save_image(existing, Image(random_pixels(4, 4, 3, dtype, seed=22)))
    before = existing.read_bytes()

    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", disk_full)
    for target in (existing, tmp_path / f"new{ext}"):
        with pytest.raises(ImageError) as err:
            save_image(target, Image(random_pixels(8, 8, 3, dtype, seed=23)))
        check_message(err, target.name, "disk full")
    monkeypatch.undo()

    assert files_in(tmp_path) == [existing.name]  # no new file, no temporary file
    assert existing.read_bytes() == before


def test_failure_on_rename_leaves_nothing_behind(tmp_path, monkeypatch):
    existing = write(tmp_path / "keep.png", b"old contents")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ImageError) as err:
        save_image(existing, Image(random_pixels(4, 4, 3)))
    check_message(err, "keep.png", "permission denied")
    monkeypatch.undo()
    assert files_in(tmp_path) == ["keep.png"] and existing.read_bytes() == b"old contents"


def test_unwritable_folder_simulated(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / "out.png", Image(random_pixels(2, 2, 3)))
    check_message(err, "out.png", "permission denied")
    monkeypatch.undo()
    assert files_in(tmp_path) == []


@pytest.mark.skipif(not IS_NON_ROOT_POSIX, reason="needs a non-root POSIX user")
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(ImageError) as err:
            save_image(folder / "out.png", Image(random_pixels(2, 2, 3)))
        check_message(err, "out.png", "permission denied")
        assert files_in(folder) == []
    finally:
        os.chmod(folder, 0o755)


def test_successful_save_leaves_no_temporary_file(tmp_path):
    for ext in SUPPORTED_WRITE:
        save_image(tmp_path / f"ok{ext}", Image(random_pixels(3, 3, 3)))
    assert files_in(tmp_path) == sorted(f"ok{ext}" for ext in SUPPORTED_WRITE)


def test_float_conversion_is_the_released_loaders_division():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    expected = torch_like = pixels.astype(np.float32) / np.float32(255)
    assert np.array_equal(Image(pixels).to_float_rgb(), torch_like)
    assert expected.dtype == np.float32
