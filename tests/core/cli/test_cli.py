"""The ``nlsn`` command line contract: upscale and eval, exit codes, one-line errors, no partial output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from core.reference.released import ReleasedNLSN
from core.cli import main
from tests.paths import BENCHMARK
from core.reference.images import smooth_image

from tests.paths import ROOT  # noqa: E402


def write_png(path: Path, array: np.ndarray) -> Path:
    PILImage.fromarray(array.squeeze()).save(path)
    return path


@pytest.fixture
def released_pt(tmp_path):
    """A checkpoint saved from the released architecture with random weights (x2)."""
    def make(scale=2, feats=16, blocks=9):
        torch.manual_seed(scale)
        ref = ReleasedNLSN(n_resblocks=blocks, n_feats=feats, scale=scale).eval()
        path = tmp_path / f"released_x{scale}.pt"
        torch.save(ref.state_dict(), path)
        return ref, path
    return make


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_gives_the_released_codes_image(tmp_path, released_pt, capsys, scale):
    ref, pt = released_pt(scale=scale)
    lr = smooth_image(14, 13, seed=scale)  # L = 182 > 144: real hashing and padding
    src = write_png(tmp_path / "in.png", lr)
    out = tmp_path / "out.png"
    code = main(["upscale", str(src), "-o", str(out), "--scale", str(scale), "--model", str(pt),
                 "--seed", "42", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    got = np.asarray(PILImage.open(out))
    # What the released code gives after torch.manual_seed(42), saved the released way.
    x = torch.from_numpy(lr).permute(2, 0, 1).unsqueeze(0).float() / 255
    torch.manual_seed(42)
    with torch.no_grad():
        sr = ref(x)
    expected = sr.mul(255).clamp(0, 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert got.shape == expected.shape == (14 * scale, 13 * scale, 3)
    # The contract is one grey level; on the same machine the images are in fact identical.
    assert np.array_equal(got, expected)


def test_folders_in_folder_out_and_determinism(tmp_path, released_pt):
    _, pt = released_pt()
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        write_png(src / f"img{i}.png", smooth_image(10, 12, seed=i))
    (src / "notes.txt").write_text("ignored: not an image")
    args = ["upscale", str(src), "--scale", "2", "--model", str(pt), "--device", "cpu"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    assert main(args + ["-o", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["img0_x2.png", "img1_x2.png", "img2_x2.png"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_bad_inputs_fail_cleanly_and_write_nothing(tmp_path, released_pt, capsys):
    _, pt = released_pt()
    good = write_png(tmp_path / "good.png", smooth_image(10, 10))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(good.read_bytes()[:60])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("hello")
    outdir = tmp_path / "out"
    code = main(["upscale", str(good), str(corrupt), str(empty), str(text), "-o", str(outdir),
                 "--scale", "2", "--model", str(pt), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert sorted(p.name for p in outdir.iterdir()) == ["good_x2.png"]
    for name in ("corrupt.png", "empty.jpg", "text.png"):
        lines = [line for line in err.splitlines() if name in line and "error" in line]
        assert len(lines) == 1, err


def test_malicious_model_is_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"head.0.weight": Evil()}, tmp_path / "evil.pt")
    src = write_png(tmp_path / "in.png", smooth_image(8, 8))
    code = main(["upscale", str(src), "-o", str(tmp_path / "o.png"), "--scale", "2",
                 "--model", str(tmp_path / "evil.pt")])
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists() and not (tmp_path / "o.png").exists()
    assert err.count("\n") == 1 and "refused" in err


def test_missing_bundled_model_or_input_says_so(tmp_path, capsys, monkeypatch):
    import core.checkpoints.bundled as registry

    monkeypatch.setattr(registry, "MODELS_DIR", tmp_path / "no-models")
    src = write_png(tmp_path / "in.png", smooth_image(8, 8))
    assert main(["upscale", str(src), "-o", str(tmp_path / "o.png"), "--scale", "3"]) == 2
    assert "no bundled model for x3" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o"), "--scale", "2"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_subprocess_entry_point_prints_one_line_no_traceback(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "upscale", str(bad), "-o", str(tmp_path / "o.png"),
         "--scale", "2", "--model", str(tmp_path / "none.pt")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.png").exists()


def _hr_folder(tmp_path: Path) -> Path:
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        write_png(hr / f"im{i}.png", smooth_image(37, 41, seed=i))  # not multiples of the scale
    return hr


def test_eval_bicubic_json_on_a_plain_folder(tmp_path, capsys):
    hr = _hr_folder(tmp_path)
    assert main(["eval", "--data", str(hr), "--scale", "2", "--bicubic", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"psnr", "ssim", "images"} <= set(result)
    assert [im["name"] for im in result["images"]] == ["im0", "im1"]
    assert 25 < result["psnr"] < 60 and 0.5 < result["ssim"] <= 1
    assert abs(result["psnr"] - np.mean([im["psnr"] for im in result["images"]])) < 1e-3


def test_eval_model_table(tmp_path, released_pt, capsys):
    _, pt = released_pt(scale=3)
    hr = _hr_folder(tmp_path)
    assert main(["eval", "--data", str(hr), "--scale", "3", "--model", str(pt), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "im0" in out and "mean" in out and "PSNR" in out


def test_eval_missing_folder(tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path / "nope"), "--scale", "2", "--bicubic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nlsn: error:") and err.count("\n") == 1


@pytest.mark.skipif(not (BENCHMARK / "Set5").is_dir(), reason="../shared/data/benchmark not present")
@pytest.mark.parametrize("scale,published", [(2, 33.66), (4, 28.42)])
def test_eval_bicubic_reproduces_published_set5(capsys, scale, published):
    assert main(["eval", "--data", str(BENCHMARK / "Set5"), "--scale", str(scale), "--bicubic", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["images"]) == 5
    assert abs(result["psnr"] - published) <= 0.05


def test_scale_comes_from_the_model_or_defaults_to_the_bundled_x2(tmp_path, capsys):
    from core.checkpoints import save_model
    from core.network import NLSN, preset
    from core.checkpoints.bundled import bundled_models

    src = write_png(tmp_path / "a.png", smooth_image(10, 12))
    torch.manual_seed(0)
    model = save_model(tmp_path / "tiny-x3.safetensors", NLSN(preset("tiny", scale=3)))
    assert main(["upscale", str(src), "-o", str(tmp_path / "out"), "--model", str(model)]) == 0
    assert PILImage.open(tmp_path / "out" / "a_x3.png").size == (36, 30)
    if "nlsn-light-x2" in bundled_models():
        assert main(["upscale", str(src), "-o", str(tmp_path / "b.png")]) == 0
        assert PILImage.open(tmp_path / "b.png").size == (24, 20)
    assert main(["upscale", str(src), "-o", str(tmp_path / "c.png"), "--model", str(model), "--scale", "2"]) == 2
    assert "is a x3 model, but x2 was asked for" in capsys.readouterr().err


def test_quality_tiles_precision_and_devices_from_the_command_line(tmp_path, released_pt, capsys):
    src = write_png(tmp_path / "in.png", smooth_image(60, 70))
    _, pt = released_pt(2)
    sizes = {}
    for quality in (30, 95):
        out = tmp_path / f"q{quality}.jpg"
        assert main(["upscale", str(src), "-o", str(out), "--model", str(pt), "--quality", str(quality)]) == 0
        sizes[quality] = out.stat().st_size
    assert sizes[30] < sizes[95]
    assert main(["upscale", str(src), "-o", str(tmp_path / "t.png"), "--model", str(pt), "--tile", "48",
                 "--precision", "bf16"]) == 0
    assert "tiles, bf16" in capsys.readouterr().err
    assert main(["upscale", str(src), "-o", str(tmp_path / "m.png"), "--model", str(pt), "--memory", "0.25"]) == 0
    for bad, said in ((["--quality", "0"], "--quality must be from 1 to 100"), (["--device", "tpu"], "cuda:N"),
                      (["--tile", "8"], "at least 48")):
        assert main(["upscale", str(src), "-o", str(tmp_path / "x.png"), "--model", str(pt), *bad]) != 0
        assert said in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
