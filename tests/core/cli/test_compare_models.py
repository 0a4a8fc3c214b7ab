"""``nlsn eval`` of several models of any architecture, and ``nlsn upscale`` with another architecture."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image as PILImage

from core.checkpoints import save_model
from core.cli import main
from core.image import load_image
from core.network import NLSN, preset
from core.reference.images import smooth_image
from tests.foreign_models import build, save


@pytest.fixture
def setup(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        PILImage.fromarray(smooth_image(40, 36, seed=i)).save(hr / f"im{i}.png")
    nlsn = save_model(tmp_path / "nlsn-tiny.safetensors", NLSN(preset("tiny", scale=2)))
    rcan = save(build("RCAN", scale=2), tmp_path / "rcan.pth")
    esrgan = save(build("ESRGAN", scale=2), tmp_path / "esrgan.safetensors")
    return hr, [nlsn, rcan, esrgan]


def _run(capsys, *args: str) -> str:
    assert main(["eval", *args, "--device", "cpu"]) == 0
    return capsys.readouterr().out


def test_several_models_and_bicubic_as_json(setup, capsys):
    hr, models = setup
    args = ["--data", str(hr), "--bicubic", "--json"] + [a for m in models for a in ("--model", str(m))]
    result = json.loads(_run(capsys, *args))
    assert result["scale"] == 2
    rows = result["models"]
    assert [r["name"] for r in rows] == ["bicubic", "nlsn-tiny", "rcan", "esrgan"]
    assert [r["architecture"] for r in rows] == ["bicubic", "NLSN", "RCAN", "ESRGAN"]
    for row in rows:
        assert [im["name"] for im in row["images"]] == ["im0", "im1"]
        assert abs(row["psnr"] - np.mean([im["psnr"] for im in row["images"]])) < 1e-3
    assert rows[0]["params"] == 0 and all(r["params"] > 0 for r in rows[1:])
    # Each model's row is what evaluating it alone gives.
    alone = json.loads(_run(capsys, "--data", str(hr), "--model", str(models[1]), "--json"))
    assert alone["method"] == "rcan" and alone["psnr"] == rows[2]["psnr"] and "models" not in alone


def test_markdown_and_csv_tables(setup, capsys):
    hr, models = setup
    args = ["--data", str(hr), "--bicubic", "--model", str(models[0]), "--model", str(models[1])]
    md = _run(capsys, *args, "--format", "markdown")
    lines = [line for line in md.splitlines() if line.startswith("|")]
    assert lines[0] == "| method | architecture | params | PSNR | SSIM | seconds |"
    assert len(lines) == 2 + 3 and "".join(lines).count("**") == 4  # the best PSNR and SSIM are bold
    rows = list(csv.reader(io.StringIO(_run(capsys, *args, "--format", "csv", "--per-image"))))
    assert rows[0] == ["image", "bicubic PSNR", "bicubic SSIM", "nlsn-tiny PSNR", "nlsn-tiny SSIM",
                       "rcan PSNR", "rcan SSIM"]
    assert [r[0] for r in rows[1:]] == ["im0", "im1", "mean"]
    assert float(rows[3][1]) == pytest.approx(np.mean([float(rows[1][1]), float(rows[2][1])]), abs=1e-3)


def test_models_of_another_scale_are_refused(setup, tmp_path, capsys):
    hr, models = setup
    x4 = save(build("Compact", scale=4), tmp_path / "compact4.pth")
    assert main(["eval", "--data", str(hr), "--model", str(models[0]), "--model", str(x4)]) == 2
    err = capsys.readouterr().err
    assert "x4 model, but x2 was asked for" in err and err.count("\n") == 1


def test_upscale_with_another_architecture(setup, tmp_path, capsys):
    hr, models = setup
    out = tmp_path / "out.png"
    assert main(["upscale", str(hr / "im0.png"), "-o", str(out), "--model", str(models[2]), "--device", "cpu"]) == 0
    assert load_image(out).pixels.shape == (80, 72, 3)
    assert "ESRGAN" in capsys.readouterr().err
