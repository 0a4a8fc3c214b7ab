"""Network: named configurations, released keys and shapes, parity with the released code."""

from __future__ import annotations

import pytest
import torch

from core.reference.released import ReleasedNLSN
from core.network import NLSN, PRESETS, NLSNConfig, count_parameters, nlsa_positions, preset


def test_nlsa_positions_rule():
    assert nlsa_positions(32) == [0, 9, 18, 27, 36]
    assert nlsa_positions(16) == [0, 9, 18]
    assert nlsa_positions(2) == [0]


@pytest.mark.parametrize("scale,millions", [(2, 41.8), (3, 44.7), (4, 44.2)])
def test_paper_configuration_matches_release(scale, millions):
    ours = NLSN(preset("paper", scale=scale))
    ref = ReleasedNLSN(scale=scale)
    assert round(count_parameters(ours) / 1e6, 1) == millions
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    assert all(ours_sd[k].shape == ref_sd[k].shape for k in ref_sd)
    assert [i for i, m in enumerate(ours.body) if type(m).__name__ == "NonLocalSparseAttention"] == [0, 9, 18, 27, 36]
    assert "body.37.weight" in ours_sd


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_every_preset_runs(name, scale):
    model = NLSN(preset(name, scale=scale)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 7, 9), generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 3, 7 * scale, 9 * scale)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "feats,blocks,scale,hw",
    [(16, 9, 2, (13, 17)), (32, 2, 3, (12, 12)), (8, 17, 4, (9, 10))],
)
def test_whole_network_matches_released(feats, blocks, scale, hw):
    ref = ReleasedNLSN(n_resblocks=blocks, n_feats=feats, scale=scale, chunk_size=16).eval()
    ours = NLSN(NLSNConfig(n_feats=feats, n_resblocks=blocks, scale=scale, chunk_size=16)).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(1, 3, *hw)
    with torch.no_grad():
        a = ours(x, generator=torch.Generator().manual_seed(11))
        torch.manual_seed(11)
        b = ref(x)
    assert torch.allclose(a, b, atol=1e-5, rtol=0)


def test_mean_shift_is_fixed_and_not_trained():
    model = NLSN(preset("tiny"))
    names = {n for n, _ in model.named_parameters()}
    assert not any(n.startswith(("sub_mean", "add_mean")) for n in names)
    assert "sub_mean.bias" in model.state_dict()


def test_without_nlsa_has_no_attention():
    model = NLSN(preset("light-nonlocal-off"))
    assert model.nlsa_modules() == []
    assert len(model.body) == 17


def test_config_round_trip_and_unknown_keys():
    cfg = preset("light", scale=3)
    assert NLSNConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model settings: colour"):
        NLSNConfig.from_dict({**cfg.to_dict(), "colour": 1})
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_tail_in_strips_is_the_whole_tail(monkeypatch, scale):
    import core.network.nlsn as nlsn_file

    torch.manual_seed(0)
    model = NLSN(preset("tiny", scale=scale)).eval()
    feats = torch.randn(1, model.config.n_feats, 37, 23)
    with torch.no_grad():
        whole = model.tail(feats)
        monkeypatch.setattr(nlsn_file, "TAIL_STRIP_BYTES", 1)  # strips of 8 rows
        strips = model.tail(feats)
    assert strips.shape == whole.shape == (1, 3, 37 * scale, 23 * scale)
    assert (strips - whole).abs().max() <= 1e-5
    assert {"tail.0.0.weight", "tail.1.weight"} <= set(model.state_dict())  # the released keys


def test_inference_in_place_arithmetic_is_the_trainings(monkeypatch):
    """ResBlocks, attention residuals and the global skip run in place without gradients:
    the same numbers as the out-of-place forward that training runs."""
    torch.manual_seed(0)
    model = NLSN(preset("tiny", scale=2)).eval()
    x = torch.rand(1, 3, 20, 18)
    with torch.no_grad():
        lean = model(x, generator=torch.Generator().manual_seed(1))
    with torch.enable_grad():
        full = model(x.requires_grad_(True), generator=torch.Generator().manual_seed(1))
    assert (lean - full.detach()).abs().max() <= 1e-5
