"""The app against a corpus of bad and odd inputs made in code: a clear message, nothing lost."""

from __future__ import annotations

import io
import pickle
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

pytest.importorskip("pytestqt")

from core.checkpoints import save_model  # noqa: E402
from core.image import load_image  # noqa: E402
from core.network import NLSN, preset  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402
from tests.gui.qt.helpers import idle  # noqa: E402



def png_bomb() -> bytes:
    """A valid PNG header claiming 100000 x 100000 pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def good_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(smooth_image(16, 20)).save(buffer, "PNG")
    return buffer.getvalue()


class Evil:
    def __reduce__(self):
        return (exec, ("open('/tmp/nlsn-pwned', 'w').write('x')",))


BAD_IMAGES = {
    "corrupt.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    "truncated.png": good_png()[:60],
    "empty.jpg": b"",
    "bomb.png": png_bomb(),
    "text.png": b"just some text, not an image",
    "script.jpg": b"#!/bin/sh\necho hi\n",
}


def test_bad_images_get_a_message_and_keep_the_open_document(qtbot, window, tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(good_png())
    window.open_path(good)
    idle(qtbot, window)
    assert window.doc.name == "good.png"
    for name, data in BAD_IMAGES.items():
        path = tmp_path / name
        path.write_bytes(data)
        window.open_path(path)
        idle(qtbot, window)
        status = window.status_label.text()
        assert status.startswith("Error:") and name in status, (name, status)
        assert "Traceback" not in status
        assert window.doc.name == "good.png"  # nothing lost
    window.open_path(tmp_path / "missing.png")
    idle(qtbot, window)
    assert window.status_label.text().startswith("Error:") and window.doc.name == "good.png"


@pytest.mark.parametrize("kind", ["16bit", "cmyk", "palette", "alpha", "grey", "animated"])
def test_odd_but_valid_images_open_and_upscale(qtbot, window, tmp_path, kind):
    torch.manual_seed(0)
    model = save_model(tmp_path / "tiny-x2.safetensors", NLSN(preset("tiny", scale=2)))
    rgb = smooth_image(12, 14)
    path = tmp_path / f"{kind}.png"
    if kind == "16bit":
        PILImage.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(path)
    elif kind == "cmyk":
        path = tmp_path / "cmyk.jpg"
        PILImage.fromarray(rgb).convert("CMYK").save(path)
    elif kind == "palette":
        PILImage.fromarray(rgb).convert("P").save(path)
    elif kind == "alpha":
        PILImage.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(path)
    elif kind == "grey":
        PILImage.fromarray(rgb[..., 1]).save(path)
    else:
        path = tmp_path / "animated.gif"
        frames = [PILImage.fromarray(rgb), PILImage.fromarray(255 - rgb)]
        frames[0].save(path, save_all=True, append_images=frames[1:])
    window.open_model(model)
    idle(qtbot, window)
    window.open_path(path)
    idle(qtbot, window)
    assert window.doc is not None, window.status_label.text()
    window.upscale()
    idle(qtbot, window)
    sr = window.doc.comparison.sr
    assert sr is not None and (sr.width, sr.height) == (28, 24), window.status_label.text()
    out = tmp_path / "out.png"
    window.save(out)
    idle(qtbot, window)
    saved = load_image(out)
    assert saved.pixels.dtype == sr.pixels.dtype and (saved.alpha is None) == (sr.alpha is None)


def test_saving_to_a_bad_place_says_why_and_writes_nothing(qtbot, window, tmp_path):
    torch.manual_seed(0)
    model = save_model(tmp_path / "tiny-x2.safetensors", NLSN(preset("tiny", scale=2)))
    window.open_model(model)
    idle(qtbot, window)
    src = tmp_path / "a.png"
    src.write_bytes(good_png())
    window.open_path(src)
    idle(qtbot, window)
    window.upscale()
    idle(qtbot, window)
    window.save(tmp_path / "no" / "such" / "folder" / "out.png")
    idle(qtbot, window)
    assert window.status_label.text().startswith("Error:")
    assert not (tmp_path / "no").exists()
    folder = tmp_path / "taken.png"
    folder.mkdir()
    window.save(folder)
    idle(qtbot, window)
    assert window.status_label.text().startswith("Error:") and folder.is_dir()


def test_bad_model_files_are_refused_and_never_executed(qtbot, window, tmp_path):
    import os

    marker = "/tmp/nlsn-pwned"
    if os.path.exists(marker):
        os.remove(marker)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"state_dict": Evil()}))
    buffer = io.BytesIO()
    torch.save({"head.0.weight": torch.zeros(3)}, buffer)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(buffer.getvalue()[:50])
    wrong = tmp_path / "wrong.pt"
    torch.save({"not.a.model": torch.zeros(2, 2)}, wrong)
    for path in (evil, truncated, wrong, tmp_path / "missing.safetensors"):
        window.open_model(path)
        idle(qtbot, window)
        status = window.status_label.text()
        assert status.startswith("Error:") and path.name in status, status
    assert not os.path.exists(marker)
    assert window.model_path() is None or "evil" not in window.model_path()
