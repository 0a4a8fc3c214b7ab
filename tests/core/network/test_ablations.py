"""The paper's ablations of the hashing as presets: local windows of the same span, random buckets."""

from __future__ import annotations

import pytest
import torch

from core.attention.hashing import compute_buckets
from core.checkpoints import load_model, save_model
from core.network import NLSN, NLSNConfig, describe, preset


def test_local_windows_are_the_buckets():
    h, w = 24, 36  # 2 x 3 windows of 12 x 12 = 144 positions: each chunk of k = 144 is one window
    x = torch.randn(1, h * w, 8)
    bk = compute_buckets(x, n_hashes=2, chunk_size=144, generator=None, hashing="local", shape=(h, w))
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    assert torch.equal(bk.codes[0, 0], ((ys // 12) * 3 + xs // 12).flatten()) and bk.buckets == 6
    sorted_positions = bk.order[0, :144]  # the first chunk of round 1: the top-left window
    assert set(sorted_positions.tolist()) == {y * w + x for y in range(12) for x in range(12)}


def test_random_buckets_ignore_the_content_and_follow_the_seed():
    x = torch.randn(1, 600, 8)
    a = compute_buckets(x, n_hashes=2, chunk_size=144, generator=torch.Generator().manual_seed(1), hashing="random")
    b = compute_buckets(x * -3 + 1, n_hashes=2, chunk_size=144, generator=torch.Generator().manual_seed(1),
                        hashing="random")
    assert torch.equal(a.codes, b.codes) and int(a.codes.max()) < a.buckets
    lsh = compute_buckets(x, n_hashes=2, chunk_size=144, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(a.codes, lsh.codes)


@pytest.mark.parametrize("name,words", [("light-local", "with local windows"),
                                        ("light-random-hash", "with random buckets")])
def test_presets_run_and_keep_their_hashing_in_the_file(tmp_path, name, words):
    config = preset(name, scale=2)
    assert describe(config).endswith(words)
    small = NLSNConfig(n_feats=16, n_resblocks=2, chunk_size=16, n_hashes=2, hashing=config.hashing)
    model = NLSN(small).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 12, 16), generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 3, 24, 32)
    loaded = load_model(save_model(tmp_path / "m.safetensors", model))
    assert loaded.config.hashing == config.hashing
    with torch.no_grad():
        again = loaded.model(torch.rand(1, 3, 12, 16).fill_(0.5), generator=torch.Generator().manual_seed(0))
        mine = model(torch.rand(1, 3, 12, 16).fill_(0.5), generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, mine)


def test_an_unknown_hashing_is_refused():
    with pytest.raises(ValueError, match="unknown hashing"):
        NLSNConfig(hashing="bogus")
