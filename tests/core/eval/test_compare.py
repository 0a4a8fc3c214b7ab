"""core.eval.compare: the compare workflow without Qt (modes, bicubic, scores, batch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from core.base.errors import Cancelled, NLSNError
from core.image import Image, load_image
from core.inference import Upscaler
from core.metrics import psnr
from core.network import NLSN, preset
from core.image.resize import downscale, modcrop, upscale
from core.eval.compare import add_bicubic, add_result, prepare
from core.image import display_rgb
from core.inference.batch import batch_targets, batch_upscale, folder_images
from core.reference.images import smooth_image


def tiny_upscaler(scale=2):
    torch.manual_seed(0)
    return Upscaler(NLSN(preset("tiny", scale=scale)), device="cpu")


def test_upscale_mode_keeps_the_image_as_lr():
    image = Image(smooth_image(20, 30))
    c = add_bicubic(prepare(image, mode="upscale", scale=3))
    assert c.lr is image and c.hr is None and c.bicubic_scores is None
    assert np.array_equal(c.bicubic.pixels, upscale(image.pixels, 3))


def test_simulate_mode_is_the_benchmark_protocol():
    hr = smooth_image(50, 61, seed=2)
    c = add_bicubic(prepare(Image(hr), mode="simulate", scale=3))
    cropped = modcrop(hr, 3)
    assert np.array_equal(c.hr.pixels, cropped) and np.array_equal(c.lr.pixels, downscale(cropped, 3))
    assert c.bicubic_scores.psnr == pytest.approx(psnr(upscale(downscale(cropped, 3), 3), cropped, border=3))
    sr = Image(cropped.copy())  # a perfect result
    add_result(c, sr)
    assert c.sr_scores.psnr == float("inf") or c.sr_scores.psnr > 99
    assert c.diff.shape == cropped.shape[:2] and float(c.diff.max()) == 0.0


def test_simulate_refuses_tiny_images_and_keeps_alpha_and_16_bit():
    with pytest.raises(NLSNError, match="too small"):
        prepare(Image(smooth_image(10, 40)), mode="simulate", scale=2)
    pixels = (smooth_image(32, 32).astype(np.uint16) * 257)
    alpha = np.full((32, 32), 65535, np.uint16)
    c = add_bicubic(prepare(Image(pixels, alpha=alpha), mode="simulate", scale=2))
    assert c.lr.pixels.dtype == np.uint16 and c.lr.alpha.shape == (16, 16)
    assert c.bicubic.alpha.shape == (32, 32)
    shown = display_rgb(c.bicubic)
    assert shown.shape == (32, 32, 4) and shown.dtype == np.uint8


def test_display_of_grey():
    grey = Image(smooth_image(8, 9, channels=1))
    shown = display_rgb(grey)
    assert shown.shape == (8, 9, 3) and np.array_equal(shown[..., 0], shown[..., 2])


def test_batch_writes_skips_reports_and_cancels(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        PILImage.fromarray(smooth_image(12, 14, seed=i)).save(src / f"im{i}.png")
    (src / "broken.png").write_bytes(b"not an image")
    (src / "notes.txt").write_text("ignored")
    up = tiny_upscaler()
    sources = folder_images(src)
    assert [p.name for p in sources] == ["broken.png", "im0.png", "im1.png", "im2.png"]
    out = tmp_path / "out"
    calls = []
    items = batch_upscale(sources, out, upscale_fn=up.upscale_image, scale=2,
                          progress=lambda i, n, f, name, _detail: calls.append((i, n)))
    assert [i.status for i in items] == ["failed", "done", "done", "done"]
    assert "broken.png" in items[0].message
    result = load_image(out / "im1_x2.png")
    assert (result.width, result.height) == (28, 24)
    again = batch_upscale(sources, out, upscale_fn=up.upscale_image, scale=2)
    assert [i.status for i in again] == ["failed", "skipped", "skipped", "skipped"]
    assert calls[-1] == (4, 4)
    (out / "im2_x2.png").unlink()
    seen = []

    def cancel_after_first():
        return len(seen) > 0

    def fn(image, *, progress, cancel):
        seen.append(image)
        return up.upscale_image(image, progress=progress, cancel=cancel)

    with pytest.raises(Cancelled):
        batch_upscale(sources[2:], out, upscale_fn=fn, scale=2, skip_existing=False, cancel=cancel_after_first)
    assert not (out / "im2_x2.png").exists()


def test_a_rerun_skips_only_what_the_same_model_and_seed_made(tmp_path):
    from core.inference.batch import MANIFEST, made_with, read_manifest

    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        PILImage.fromarray(smooth_image(12, 14, seed=i)).save(src / f"im{i}.png")
    sources = folder_images(src)
    (tmp_path / "a.safetensors").write_bytes(b"model a")
    (tmp_path / "b.safetensors").write_bytes(b"model b, another size")
    a, b = made_with(tmp_path / "a.safetensors", seed=0, scale=2), made_with(tmp_path / "b.safetensors", seed=0, scale=2)
    assert a != b and a != made_with(tmp_path / "a.safetensors", seed=1, scale=2)
    up, out = tiny_upscaler(), tmp_path / "out"
    first = batch_upscale(sources, out, upscale_fn=up.upscale_image, scale=2, made=a)
    assert [i.status for i in first] == ["done", "done"]
    assert read_manifest(out) == {"im0_x2.png": a, "im1_x2.png": a} and (out / MANIFEST).is_file()
    again = batch_upscale(sources, out, upscale_fn=up.upscale_image, scale=2, made=a)
    assert [i.status for i in again] == ["skipped", "skipped"] and "with this model" in again[0].message
    other = batch_upscale(sources, out, upscale_fn=up.upscale_image, scale=2, made=b)
    assert [i.status for i in other] == ["done", "done"]  # another model: made again, not "already done"
    assert set(read_manifest(out).values()) == {b}
    assert folder_images(out) == [out / "im0_x2.png", out / "im1_x2.png"]  # the manifest is no image


def test_batch_targets_and_bad_folders(tmp_path):
    names = batch_targets([tmp_path / "a.bmp", tmp_path / "b.gif"], tmp_path, scale=4)
    assert [p.name for p in names] == ["a_x4.bmp", "b_x4.gif"]  # a GIF stays a GIF: an animation keeps its frames
    assert batch_targets([tmp_path / "a.bmp"], tmp_path, scale=2, extension=".JPG")[0].name == "a_x2.jpg"
    with pytest.raises(NLSNError, match="cannot write"):
        batch_targets([tmp_path / "a.png"], tmp_path, scale=2, extension=".heic")
    with pytest.raises(NLSNError, match="no such folder"):
        folder_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NLSNError, match="holds no images"):
        folder_images(tmp_path / "empty")
