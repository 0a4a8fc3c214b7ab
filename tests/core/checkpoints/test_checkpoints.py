"""Model files: released .pt state dicts opened as they are, the project's safetensors, and refusals."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from core.reference.released import ReleasedNLSN
from core.checkpoints import infer_config, load_model, save_model
from core.base.errors import CheckpointError
from core.network import NLSN, preset


@pytest.mark.parametrize("feats,blocks,scale", [(16, 2, 2), (32, 9, 3), (8, 17, 4), (24, 16, 2)])
def test_released_file_is_opened_as_is(tmp_path, feats, blocks, scale):
    ref = ReleasedNLSN(n_resblocks=blocks, n_feats=feats, scale=scale).eval()
    path = tmp_path / "NLSN_x.pt"
    torch.save(ref.state_dict(), path)
    loaded = load_model(path)
    cfg = loaded.config
    assert (cfg.n_feats, cfg.n_resblocks, cfg.scale, cfg.use_nlsa) == (feats, blocks, scale, True)
    assert (cfg.n_hashes, cfg.chunk_size, cfg.res_scale) == (4, 144, 0.1)  # paper values
    assert loaded.source == "released"
    x = torch.rand(1, 3, 13, 12)  # L = 156 >= 144: hashing, two chunks
    with torch.no_grad():
        a = loaded.model(x, generator=torch.Generator().manual_seed(3))
        torch.manual_seed(3)
        b = ref(x)
    assert torch.allclose(a, b, atol=1e-5)


def test_wrapped_and_data_parallel_state_dicts(tmp_path):
    ref = ReleasedNLSN(n_resblocks=2, n_feats=8, scale=2)
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "wrapped.pt")
    assert load_model(tmp_path / "wrapped.pt").config.n_feats == 8


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"head.0.weight": Evil()}, tmp_path / "evil.pt")
    with open(tmp_path / "evil2.pt", "wb") as fh:
        pickle.dump(Evil(), fh)
    for name in ("evil.pt", "evil2.pt"):
        with pytest.raises(CheckpointError, match="refused") as err:
            load_model(tmp_path / name)
        assert "\n" not in str(err.value)
    assert not marker.exists()


def test_wrong_architecture_names_the_keys(tmp_path):
    state = ReleasedNLSN(n_resblocks=2, n_feats=8, scale=2).state_dict()
    del state["body.1.body.0.bias"]
    state["body.1.extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "wrong.pt")
    assert "missing keys: body.1.body.0.bias" in str(err.value)
    assert "unexpected keys: body.1.extra.weight" in str(err.value)

    state = ReleasedNLSN(n_resblocks=2, n_feats=8, scale=2).state_dict()
    state["body.1.body.0.weight"] = torch.zeros(8, 8, 5, 5)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"wrong shapes: body.1.body.0.weight \(8, 8, 5, 5\) != \(8, 8, 3, 3\)"):
        load_model(tmp_path / "shape.pt")


@pytest.mark.parametrize(
    "content,message",
    [(b"", "empty"), (b"not a checkpoint at all", "not a PyTorch checkpoint"), (None, "truncated")],
)
def test_broken_files(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save(ReleasedNLSN(n_resblocks=2, n_feats=8).state_dict(), path)
        content = path.read_bytes()[:3000]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_not_an_nlsn_and_missing_files(tmp_path):
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="neither NLSN nor an architecture spandrel knows"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_model(tmp_path)


def test_project_format_round_trip_with_provenance(tmp_path):
    model = NLSN(preset("tiny", scale=3))
    path = save_model(tmp_path / "m.safetensors", model, provenance={"trained_on": "T91", "steps": 10})
    loaded = load_model(path)
    assert loaded.source == "project"
    assert loaded.config == model.config  # stored, not inferred: n_hashes/chunk of tiny survive
    assert loaded.provenance == {"trained_on": "T91", "steps": 10}
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v)
    assert not list(tmp_path.glob("*.tmp")), "atomic write leaves no temp file"
    (tmp_path / "cut.safetensors").write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_model(tmp_path / "cut.safetensors")


def test_scale_mismatch_is_explained(tmp_path):
    torch.save(ReleasedNLSN(n_resblocks=2, n_feats=8, scale=4).state_dict(), tmp_path / "x4.pt")
    with pytest.raises(CheckpointError, match="is a x4 model, but x2 was asked for"):
        load_model(tmp_path / "x4.pt", expect_scale=2)


def test_nlsa_layout_is_checked():
    state = ReleasedNLSN(n_resblocks=9, n_feats=8).state_dict()
    # Rename the NLSA at body.9 so it appears where no NLSA belongs.
    assert infer_config(state).n_resblocks == 9
    moved = {k.replace("body.9.conv", "body.5.conv") if k.startswith("body.9.conv") else k: v for k, v in state.items()}
    with pytest.raises(CheckpointError):
        infer_config(moved)
