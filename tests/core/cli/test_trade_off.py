"""``nlsn eval --rounds/--chunk``: the hash-round and chunk-size trade-off of one NLSN model."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image as PILImage

from core.base.errors import NLSNError
from core.checkpoints import save_model
from core.cli import main
from core.network import NLSN, preset
from core.network.attention_settings import attention_modules, attention_settings
from core.reference.images import smooth_image
from tests.foreign_models import build, save


@pytest.fixture
def setup(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    PILImage.fromarray(smooth_image(192, 192, seed=3)).save(hr / "a.png")  # LR 96 x 96: 576 buckets of 16
    torch.manual_seed(0)
    model = save_model(tmp_path / "tiny.safetensors", NLSN(preset("tiny", scale=2)))
    return hr, model


def test_rounds_and_chunks_as_json(setup, capsys):
    hr, model = setup
    args = ["eval", "--data", str(hr), "--model", str(model), "--device", "cpu", "--json"]
    assert main(args + ["--rounds", "1", "8", "--chunk", "16", "64"]) == 0
    rows = json.loads(capsys.readouterr().out)["by_rounds"]
    assert [(r["rounds"], r["chunk"]) for r in rows] == [(1, 16), (1, 64), (8, 16), (8, 64)]
    assert all(set(r) == {"rounds", "chunk", "psnr", "ssim", "seconds"} for r in rows)
    assert rows[0]["psnr"] != rows[2]["psnr"]  # the rounds matter (the chunks: below)
    # The default setting (the model's 2 rounds, chunk 16) is what plain eval gives.
    assert main(args + ["--rounds", "2"]) == 0
    [row] = json.loads(capsys.readouterr().out)["by_rounds"]
    assert main(args) == 0
    assert row["psnr"] == json.loads(capsys.readouterr().out)["psnr"]


def test_time_grows_with_rounds(setup, capsys):
    hr, model = setup
    seconds = {}
    for rounds in (1, 8):  # the best of three runs each: what the setting costs, not the machine's noise
        runs = []
        for _ in range(3):
            assert main(["eval", "--data", str(hr), "--model", str(model), "--device", "cpu", "--json",
                         "--rounds", str(rounds)]) == 0
            runs.append(json.loads(capsys.readouterr().out)["by_rounds"][0]["seconds"])
        seconds[rounds] = min(runs)
    assert seconds[8] > 1.5 * seconds[1]


def test_rounds_need_one_nlsn_model(setup, tmp_path, capsys):
    hr, model = setup
    other = save(build("Compact"), tmp_path / "c.pth")
    assert main(["eval", "--data", str(hr), "--model", str(other), "--rounds", "2"]) == 2
    assert "needs an NLSN model" in capsys.readouterr().err
    assert main(["eval", "--data", str(hr), "--model", str(model), "--bicubic", "--rounds", "2"]) == 2
    assert "one --model, without --bicubic" in capsys.readouterr().err


def test_attention_settings_are_restored_and_change_the_output():
    from core.inference import Upscaler

    torch.manual_seed(0)
    model = NLSN(preset("tiny", scale=2))
    x = torch.rand(1, 3, 24, 24)
    outs = [Upscaler(model, device="cpu", rounds=r, chunk=c).upscale_tensor(x) for r, c in ((2, 16), (2, 64), (4, 16))]
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    assert torch.equal(outs[0], Upscaler(model, device="cpu").upscale_tensor(x))  # the model's own: 2, 16
    with attention_settings(model, rounds=5, chunk=9):
        assert {(m.n_hashes, m.chunk_size) for m in attention_modules(model)} == {(5, 9)}
    assert {(m.n_hashes, m.chunk_size) for m in attention_modules(model)} == {(2, 16)}
    with pytest.raises(NLSNError):
        with attention_settings(model, rounds=0):
            pass


def test_whole_image_against_tiles(setup, tmp_path, capsys):
    hr, model = setup
    args = ["eval", "--data", str(hr), "--device", "cpu", "--json", "--tiles", "48", "64"]
    assert main(args + ["--model", str(model)]) == 0
    rows = json.loads(capsys.readouterr().out)["by_tile"]
    assert [r["tile"] for r in rows] == [None, 48, 64]
    assert rows[0]["psnr_change"] == 0 and rows[1]["psnr"] != rows[0]["psnr"]  # the tiles cut the attention
    assert rows[1]["psnr_change"] == pytest.approx(rows[1]["psnr"] - rows[0]["psnr"], abs=1e-3)
    other = save(build("Compact"), tmp_path / "c.pth")  # any architecture can be cut into tiles
    assert main(args + ["--model", str(other)]) == 0
    assert len(json.loads(capsys.readouterr().out)["by_tile"]) == 3
    assert main(args + ["--model", str(model), "--rounds", "2"]) == 2
    assert "without --rounds" in capsys.readouterr().err
