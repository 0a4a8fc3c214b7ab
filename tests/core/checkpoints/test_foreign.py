"""Other architectures: detected by spandrel, opened safely, computing what spandrel computes."""

from __future__ import annotations

import pytest
import torch

from core.base.errors import CheckpointError
from core.checkpoints import load_model, save_model
from core.inference import Upscaler
from core.network import NLSN, preset
from tests.foreign_models import build, save, spandrel_output

ARCHS = ["RCAN", "ESRGAN", "SwinIR", "Compact", "SPAN"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_other_architecture_equals_spandrel(tmp_path, arch, suffix):
    path = save(build(arch, scale=2), tmp_path / f"{arch.lower()}{suffix}")
    loaded = load_model(path)
    assert (loaded.architecture, loaded.source, loaded.scale, loaded.is_nlsn) == (arch, "spandrel", 2, False)
    assert loaded.config is None and arch in loaded.description()
    x = torch.rand(1, 3, 19, 22)  # not a multiple of SwinIR's window: padded and cropped
    with torch.no_grad():
        ours = loaded.model(x.clone())
    theirs = spandrel_output(path, x)
    assert ours.shape == theirs.shape == (1, 3, 38, 44)
    assert torch.allclose(ours.clamp(0, 1), theirs, atol=1e-5)


@pytest.mark.parametrize("arch", ["RCAN", "SwinIR"])
def test_upscaler_runs_another_architecture_whole_and_in_tiles(tmp_path, arch):
    loaded = load_model(save(build(arch, scale=3), tmp_path / "m.safetensors"), expect_scale=3)
    x = torch.rand(1, 3, 60, 52)
    before = x.clone()
    whole = Upscaler(loaded.model, device="cpu").upscale_tensor(x)
    assert torch.equal(x, before)  # RCAN scales its input in place: never the caller's
    theirs = spandrel_output(loaded.path, x)
    assert torch.allclose(whole.clamp(0, 1), theirs, atol=1e-5)
    tiled = Upscaler(loaded.model, device="cpu", tile=48)
    out = tiled.upscale_tensor(x)
    assert tiled.last_run.tiles == 4 and out.shape == (1, 3, 180, 156)
    assert (out - whole).abs().mean() < 0.02  # tiles see less context, blended without seams


def test_nlsn_files_keep_the_project_loader(tmp_path):
    model = NLSN(preset("tiny", scale=2))
    path = save_model(tmp_path / "mine.safetensors", model)
    loaded = load_model(path)
    assert loaded.is_nlsn and loaded.architecture == "NLSN" and loaded.source == "project"
    plain = save(model, tmp_path / "plain.safetensors")  # no project metadata: still NLSN, by its keys
    assert load_model(plain).is_nlsn


def test_scale_mismatch_and_unknown_layouts_are_one_line(tmp_path):
    path = save(build("Compact", scale=4), tmp_path / "c.pth")
    with pytest.raises(CheckpointError, match=r"x4 model, but x2 was asked for"):
        load_model(path, expect_scale=2)
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError, match="neither NLSN nor an architecture spandrel knows"):
        load_model(tmp_path / "odd.pt")


def test_a_broken_nlsn_file_still_says_what_does_not_fit(tmp_path):
    state = NLSN(preset("tiny", scale=2)).state_dict()
    state.pop("tail.1.weight")
    torch.save(state, tmp_path / "broken.pt")
    with pytest.raises(CheckpointError, match="missing keys: tail.1.weight"):
        load_model(tmp_path / "broken.pt")


def test_a_pickle_that_would_run_code_is_refused_for_every_architecture(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    state = build("RCAN").state_dict()
    state["evil"] = Evil()
    torch.save(state, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="refused.*nothing was executed"):
        load_model(tmp_path / "evil.pth")


def test_only_nlsn_can_be_trained_or_averaged(tmp_path):
    loaded = load_model(save(build("Compact"), tmp_path / "c.safetensors"))
    with pytest.raises(CheckpointError, match="of the Compact architecture; averaging needs an NLSN model"):
        loaded.require_nlsn("averaging")
