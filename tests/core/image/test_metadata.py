"""A photo's ICC profile and EXIF go into the result, upright, in every format that holds them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms

from core.image import Image, load_image, save_image
from core.image.metadata import EXIF_IFD, EXIF_ORIENTATION, EXIF_WIDTH
from core.reference.images import smooth_image
from tests.paths import ROOT

MAKE = 0x010F


@pytest.fixture(scope="module")
def icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def photo(path, icc: bytes, *, orientation: int = 6, size=(30, 20)) -> None:
    """A JPEG as a camera writes it: turned (orientation 6: rotate 90 degrees to view), with a profile."""
    arr = smooth_image(size[1], size[0])
    exif = PILImage.Exif()
    exif[EXIF_ORIENTATION] = orientation
    exif[MAKE] = "TestCam"
    sub = exif.get_ifd(EXIF_IFD)
    sub[EXIF_WIDTH], sub[0xA003], sub[0x9003] = size[0], size[1], "2026:12:03 10:00:00"
    PILImage.fromarray(arr).save(path, icc_profile=icc, exif=exif.tobytes(), quality=95)


def test_reading_keeps_the_profile_and_exif_with_the_orientation_applied_and_reset(tmp_path, icc):
    photo(tmp_path / "cam.jpg", icc)
    image = load_image(tmp_path / "cam.jpg")
    assert image.pixels.shape == (30, 20, 3)  # upright: 20x30 turned by 90 degrees
    assert image.icc_profile == icc
    exif = PILImage.Exif()
    exif.load(image.exif)
    assert exif[EXIF_ORIENTATION] == 1 and exif[MAKE] == "TestCam"  # never applied twice


@pytest.mark.parametrize("ext,bits,has_exif", [
    (".png", 8, True), (".jpg", 8, True), (".webp", 8, True), (".tif", 8, True),
    (".png", 16, True), (".tif", 16, True),
])
def test_every_format_that_holds_them_writes_them(tmp_path, icc, ext, bits, has_exif):
    photo(tmp_path / "cam.jpg", icc)
    upright = load_image(tmp_path / "cam.jpg")
    pixels = np.repeat(np.repeat(upright.pixels, 2, 0), 2, 1)
    if bits == 16:
        pixels = pixels.astype(np.uint16) * 257
    save_image(tmp_path / f"out{ext}", Image(pixels, **upright.metadata()))
    with PILImage.open(tmp_path / f"out{ext}") as written:
        written.load()
        assert written.size == (40, 60) and written.info.get("icc_profile") == icc
        exif = written.getexif()
        if has_exif:
            assert exif[MAKE] == "TestCam" and exif.get(EXIF_ORIENTATION, 1) == 1
            assert exif.get_ifd(EXIF_IFD)[EXIF_WIDTH] == 40  # the result's size, not the photo's
    again = load_image(tmp_path / f"out{ext}")
    assert again.pixels.shape[:2] == (60, 40) and again.icc_profile == icc  # and it reads back upright


def test_bmp_holds_neither_and_an_image_without_metadata_writes_none(tmp_path, icc):
    photo(tmp_path / "cam.jpg", icc)
    save_image(tmp_path / "out.bmp", load_image(tmp_path / "cam.jpg"))
    assert load_image(tmp_path / "out.bmp").icc_profile is None
    save_image(tmp_path / "plain.png", Image(smooth_image(8, 8)))
    with PILImage.open(tmp_path / "plain.png") as written:
        assert "icc_profile" not in written.info and not len(written.getexif())


def test_nlsn_upscale_keeps_them(tmp_path, icc):
    import torch

    from core.checkpoints import save_model
    from core.network import NLSN, preset

    photo(tmp_path / "cam.jpg", icc)
    torch.manual_seed(0)
    save_model(tmp_path / "tiny.safetensors", NLSN(preset("tiny", scale=2)))
    done = subprocess.run([sys.executable, "-m", "core.cli", "upscale", str(tmp_path / "cam.jpg"), "-o",
                           str(tmp_path / "out.png"), "--model", str(tmp_path / "tiny.safetensors")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    with PILImage.open(tmp_path / "out.png") as written:
        written.load()
        assert written.size == (40, 60) and written.info.get("icc_profile") == icc
        assert written.getexif()[MAKE] == "TestCam"
