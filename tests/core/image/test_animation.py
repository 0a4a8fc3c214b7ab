"""Animated GIF, WebP and APNG: every frame, its timing and the loop count, in and out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from core.base.errors import ImageError
from core.image.animation import Animation, frame_count, load_animation, save_animation
from core.inference import Upscaler
from core.inference.batch import run_batch
from core.network import NLSN, preset
from core.reference.images import smooth_image


def gif(path, *, frames=3, durations=(70, 90, 110), loop=2, alpha=False):
    pictures = []
    for i in range(frames):
        rgb = np.roll(smooth_image(24, 32, seed=i), 4 * i, axis=1)
        if alpha:
            rgba = np.concatenate([rgb, np.full((24, 32, 1), 255, np.uint8)], axis=2)
            rgba[:4, :4, 3] = 0
            pictures.append(PILImage.fromarray(rgba))
        else:
            pictures.append(PILImage.fromarray(rgb))
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=list(durations[:frames]), loop=loop)
    return path


def test_every_frame_with_its_timing_in_and_out(tmp_path):
    src = gif(tmp_path / "in.gif")
    assert frame_count(src) == 3 and frame_count(tmp_path / "missing.gif") == 1
    animation = load_animation(src)
    assert len(animation.frames) == 3 and animation.durations == [70, 90, 110] and animation.loop == 2
    assert animation.frames[0].pixels.shape == (24, 32, 3)
    for ext in (".gif", ".webp", ".png"):
        save_animation(tmp_path / f"out{ext}", animation, quality=100)
        back = load_animation(tmp_path / f"out{ext}")
        assert len(back.frames) == 3 and back.durations == [70, 90, 110] and back.loop == 2, ext
        assert np.abs(back.frames[1].pixels.astype(int) - animation.frames[1].pixels).max() <= 8, ext
    with pytest.raises(ImageError, match="saved as"):
        save_animation(tmp_path / "out.bmp", animation)
    with pytest.raises(ImageError):
        (tmp_path / "bad.gif").write_bytes(b"GIF89a nonsense")
        load_animation(tmp_path / "bad.gif")


def test_a_batch_upscales_every_frame_and_keeps_the_timing(tmp_path):
    src = gif(tmp_path / "in.gif", alpha=True)
    torch.manual_seed(0)
    up = Upscaler(NLSN(preset("tiny", scale=2)), device="cpu")
    dst = tmp_path / "in_x2.gif"
    items = run_batch([src], [dst], upscale_fn=up.upscale_image)
    assert items[0].status == "done" and items[0].frames == 3 and items[0].out_size == (64, 48)
    out = load_animation(dst)
    assert len(out.frames) == 3 and out.durations == [70, 90, 110] and out.loop == 2
    assert out.frames[0].pixels.shape == (48, 64, 3) and out.frames[0].alpha is not None  # transparency kept
    assert not np.array_equal(out.frames[0].pixels, out.frames[2].pixels)  # each frame its own
    webp = tmp_path / "in_x2.webp"
    assert run_batch([src], [webp], upscale_fn=up.upscale_image)[0].frames == 3
    still = tmp_path / "still.png"
    assert run_batch([src], [still], upscale_fn=up.upscale_image)[0].frames == 3  # APNG
    assert isinstance(Animation([], []), Animation)
