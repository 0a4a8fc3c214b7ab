"""Model statistics: parameters and FLOPs against a hand count, per stage, and for other architectures."""

from __future__ import annotations

import json

from core.checkpoints import save_model
from core.cli import main
from core.inspection.stats import model_stats
from core.network import NLSN, NLSNConfig, preset
from tests.foreign_models import build, save


def test_flops_and_params_equal_a_hand_count():
    f, h, w, s = 4, 8, 10, 2
    model = NLSN(NLSNConfig(n_feats=f, n_resblocks=1, scale=s, use_nlsa=False))
    stats = model_stats(model, w, h)
    hw = h * w
    conv = lambda cin, cout, k, pixels: 2 * pixels * cin * cout * k * k  # noqa: E731 - two per multiply-add
    hand = {
        "mean shift": conv(3, 3, 1, hw),
        "head": conv(3, f, 3, hw),
        "body.0 (block)": 2 * conv(f, f, 3, hw),
        "body.1 (conv)": conv(f, f, 3, hw),
        "tail": conv(f, 4 * f, 3, hw) + conv(f, 3, 3, s * s * hw),  # upsampler at LR, last conv at HR
        "mean shift (out)": conv(3, 3, 1, s * s * hw),
    }
    assert {st.name: st.flops for st in stats.stages} == hand
    assert stats.flops == sum(hand.values())
    weights = 3 * f * 9 + f + 2 * (f * f * 9 + f) + (f * f * 9 + f) + (f * 4 * f * 9 + 4 * f) + (f * 3 * 9 + 3)
    assert stats.params == weights == sum(st.params for st in stats.stages)
    assert stats.seconds > 0 and all(st.seconds >= 0 for st in stats.stages)


def test_attention_stages_are_named_and_counted():
    stats = model_stats(NLSN(preset("tiny", scale=2)), 24, 20)
    names = [st.name for st in stats.stages]
    assert names[:3] == ["mean shift", "head", "body.0 (attention)"] and names[-2:] == ["tail", "mean shift (out)"]
    attention = stats.stages[2]
    assert attention.flops > 0 and stats.peak_bytes > 0 and not stats.peak_measured


def test_stats_command_json(tmp_path, capsys):
    path = save_model(tmp_path / "tiny.safetensors", NLSN(preset("tiny", scale=2)))
    assert main(["stats", "--model", str(path), "--size", "32x24", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"params", "flops", "seconds", "peak_bytes", "stages"} <= set(out)
    assert (out["width"], out["height"], out["scale"]) == (32, 24, 2)
    other = save(build("RCAN"), tmp_path / "rcan.pth")
    assert main(["stats", "--model", str(other), "--size", "16x16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["architecture"] == "RCAN" and out["flops"] > 0 and out["stages"]
    assert main(["stats", "--model", str(path), "--size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
