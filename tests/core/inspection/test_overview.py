"""The attention overview: statistics over every query equal the per-query recomputation; CSV,
small multiples and the command."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch

from core.checkpoints import save_model
from core.cli import main
from core.image import Image, load_image, save_image
from core.inspection import bucket_sizes, inspect, query_attention
from core.inspection.overview import ALL_ROUNDS, CSV_FIELDS, module_stats, small_multiples, stats_csv
from core.network import NLSN, NLSNConfig, preset

TWO_MODULES = NLSNConfig(n_feats=16, n_resblocks=8, res_scale=0.1, n_hashes=3, chunk_size=16)


@pytest.fixture(scope="module")
def inspection():
    torch.manual_seed(0)
    model = NLSN(TWO_MODULES)
    return inspect(model, torch.rand(1, 3, 13, 17, generator=torch.Generator().manual_seed(2)), seed=3)


def test_statistics_equal_the_per_query_recomputation(inspection):
    cap = inspection.modules[0]
    rows = module_stats(cap)
    assert [r.round for r in rows] == [0, 1, 2, ALL_ROUNDS]
    h, w = cap.height, cap.width
    yy, xx = np.mgrid[0:h, 0:w]
    distance, share, per_round = [], [], [[] for _ in range(cap.n_hashes)]
    for y in range(h):
        for x in range(w):
            q = query_attention(cap, y, x)
            d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
            distance.append(float((q.combined * d).sum()))
            share.append(q.nonlocal_share)
            for r in range(cap.n_hashes):
                per_round[r].append(float((q.round_weights[r] * d).sum()))
    assert rows[-1].mean_distance == pytest.approx(np.mean(distance), rel=1e-9)
    assert rows[-1].nonlocal_share == pytest.approx(np.mean(share), rel=1e-9)
    for r in range(cap.n_hashes):
        assert rows[r].mean_distance == pytest.approx(np.mean(per_round[r]), rel=1e-9)
        sizes = bucket_sizes(cap, r)
        assert rows[r].largest_bucket == pytest.approx(sizes.max() / cap.length)
        assert rows[r].empty_buckets == np.sum(sizes == 0)
        assert 0 < rows[r].balance <= 1


def test_balance_is_one_for_equal_buckets_and_the_dense_fallback(inspection):
    torch.manual_seed(0)
    small = inspect(NLSN(preset("tiny", scale=2)), torch.rand(1, 3, 3, 4))  # fewer pixels than a chunk
    cap = small.modules[0]
    assert cap.buckets.buckets == 0
    rows = module_stats(cap)
    assert all(r.balance == 1.0 and r.largest_bucket == 1.0 for r in rows)
    assert all(0 <= r.nonlocal_share <= 1 and r.mean_distance > 0 for r in rows)


def test_csv_has_a_row_per_module_and_round(inspection):
    text = stats_csv([row for cap in inspection.modules for row in module_stats(cap)])
    table = list(csv.DictReader(io.StringIO(text)))
    assert tuple(table[0]) == CSV_FIELDS
    assert [(r["module"], r["round"]) for r in table] == [(m, r) for m in "12" for r in ("1", "2", "3", "all")]


def test_small_multiples_places_tiles_on_a_grid():
    red = np.zeros((4, 5, 3), np.uint8)
    red[..., 0] = 255
    clear = np.zeros((4, 5, 4), np.uint8)  # transparent: the background shows
    out = small_multiples([[red, clear], [clear]], gap=2)
    assert out.shape == (10, 12, 3)
    assert (out[:4, :5] == (255, 0, 0)).all() and (out[:4, 7:] == 255).all() and (out[4:6] == 255).all()


def test_attention_command(tmp_path, capsys):
    torch.manual_seed(0)
    model = save_model(tmp_path / "two.safetensors", NLSN(TWO_MODULES))
    save_image(tmp_path / "lr.png", Image((np.random.default_rng(0).random((14, 18, 3)) * 255).astype(np.uint8)))
    base = ["attention", "--model", str(model), "--image", str(tmp_path / "lr.png")]
    assert main([*base, "--csv", str(tmp_path / "a.csv"), "--grid", str(tmp_path / "g.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 2 * 4 and {"balance", "mean_distance", "nonlocal_share"} <= set(out["rows"][0])
    assert (tmp_path / "a.csv").read_text().startswith("module,body_position,round")
    assert load_image(tmp_path / "g.png").pixels.shape == (2 * 14 + 2, 3 * 18 + 2 * 2, 3)  # 2 modules x 3 rounds
    assert main([*base, "--grid", str(tmp_path / "q.png"), "--query", "5,4"]) == 0
    assert "non-local" in capsys.readouterr().out
    assert load_image(tmp_path / "q.png").pixels.shape[1] == 4 * 18 + 3 * 2  # rounds and combined
    save_image(tmp_path / "hr.png", Image((np.random.default_rng(1).random((36, 40, 3)) * 255).astype(np.uint8)))
    assert main([*base[:-1], str(tmp_path / "hr.png"), "--from-hr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == [20, 18]  # its x2 LR, as Simulate makes it
    assert main([*base, "--query", "99,4", "--grid", str(tmp_path / "x.png")]) == 2
    assert "outside" in capsys.readouterr().err


def test_attention_command_refuses_another_architecture(tmp_path, capsys):
    from tests.foreign_models import build, save

    other = save(build("Compact"), tmp_path / "compact.pth")
    save_image(tmp_path / "lr.png", Image(np.zeros((8, 8, 3), np.uint8)))
    assert main(["attention", "--model", str(other), "--image", str(tmp_path / "lr.png")]) == 2
    assert "needs an NLSN model" in capsys.readouterr().err
