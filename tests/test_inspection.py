"""NLSA inspection: the captured forward is the normal forward, and the per-query weights are
exactly the ones that forward applied."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import Cancelled
from core.inference import Upscaler
from core.inspection import (
    Inspection,
    ModuleCapture,
    bucket_map,
    bucket_sizes,
    chunk_map,
    dense_attention,
    inspect,
    query_attention,
)
from core.nlsa import KEY_NORM_EPS, NonLocalSparseAttention, sparse_attention_reference
from core.nlsn import NLSN, NLSNConfig, preset

# Chunk 16 in both models. (7, 9): L = 63, pad 1, K = 4; (5, 6): L = 30, pad 2, K = 2 (< 3 chunks);
# (4, 4): L = k, K = 1 (hashed, 2 buckets); (3, 5): L < k, the dense fallback (m = 0).
SIZES = [(7, 9), (5, 6), (4, 4), (3, 5)]
TWO_MODULES = NLSNConfig(n_feats=16, n_resblocks=8, res_scale=0.1, n_hashes=3, chunk_size=16)


def make_model(config: NLSNConfig) -> NLSN:
    torch.manual_seed(0)
    model = NLSN(config).eval()
    with torch.no_grad():
        for module in model.nlsa_modules():
            # Sharper attention than at random init, so that wrong weights cannot hide in a near
            # uniform average.
            module.conv_match[0].weight.mul_(4.0)
    return model


@pytest.fixture(scope="module")
def models() -> dict[str, NLSN]:
    return {"tiny": make_model(preset("tiny", scale=2)), "two": make_model(TWO_MODULES)}


def lr_image(h: int, w: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def query_pixels(cap: ModuleCapture) -> list[tuple[int, int]]:
    h, w = cap.height, cap.width
    return sorted({(0, 0), (h - 1, w - 1), (h // 2, w // 2), (0, w - 1), (h - 1, 1 % w)})


@pytest.fixture(scope="module")
def inspections(models) -> dict[tuple[str, tuple[int, int]], Inspection]:
    return {
        (name, hw): inspect(model, lr_image(*hw), seed=3)
        for name, model in models.items()
        for hw in SIZES
    }


@pytest.mark.parametrize("name", ["tiny", "two"])
@pytest.mark.parametrize("hw", SIZES)
def test_captured_forward_is_the_normal_forward(models, inspections, name, hw):
    ins = inspections[(name, hw)]
    expected = Upscaler(models[name], device="cpu").upscale_tensor(lr_image(*hw), seed=3)
    assert torch.equal(ins.sr, expected)
    assert ins.seed == 3 and ins.scale == 2
    model = models[name]
    assert [c.index for c in ins.modules] == list(range(len(model.nlsa_modules())))
    assert [c.body_position for c in ins.modules] == [
        i for i, m in enumerate(model.body) if isinstance(m, NonLocalSparseAttention)
    ]
    for cap in ins.modules:
        length = hw[0] * hw[1]
        assert (cap.height, cap.width) == hw
        assert cap.x.shape == (length, 4) and cap.y.shape == (length, 16) and cap.output.shape == (length, 16)
        assert cap.buckets.codes.shape == (1, cap.n_hashes, length)
        # The captured buckets reproduce the captured output through the reference path.
        att = sparse_attention_reference(cap.x[None], cap.y[None], cap.buckets, n_hashes=cap.n_hashes)
        combined = (att.rounds * torch.softmax(att.lse, dim=1)[..., None]).sum(1)[0]
        assert torch.allclose(combined, cap.output, atol=1e-6, rtol=1e-5)
    # The wrappers are gone afterwards.
    for module in model.nlsa_modules():
        assert not {"embed", "hash", "attend"} & set(vars(module))


@pytest.mark.parametrize("name", ["tiny", "two"])
@pytest.mark.parametrize("hw", SIZES)
def test_query_weights_are_the_applied_weights(inspections, name, hw):
    for cap in inspections[(name, hw)].modules:
        y = cap.y.double().numpy()  # (L, Cy)
        att = sparse_attention_reference(cap.x[None], cap.y[None], cap.buckets, n_hashes=cap.n_hashes)
        for qy, qx in query_pixels(cap):
            q = query_attention(cap, qy, qx)
            p = qy * cap.width + qx
            out = q.combined.reshape(-1) @ y  # (Cy,)
            np.testing.assert_allclose(out, cap.output[p].numpy(), atol=1e-5, rtol=1e-5)
            for r in range(cap.n_hashes):  # each round's weights and lse, too
                np.testing.assert_allclose(
                    q.round_weights[r].reshape(-1) @ y, att.rounds[0, r, p].numpy(), atol=1e-5, rtol=1e-5
                )
            np.testing.assert_allclose(q.round_probs, torch.softmax(att.lse[0, :, p], 0).numpy(), atol=1e-6)


@pytest.mark.parametrize("hw", SIZES)
def test_query_structure(inspections, hw):
    for cap in inspections[("two", hw)].modules:
        length, k, rounds = cap.height * cap.width, cap.chunk, cap.n_hashes
        pad = (-length) % k
        n_chunks = (length + pad) // k
        for qy, qx in query_pixels(cap):
            q = query_attention(cap, qy, qx)
            assert q.round_weights.shape == (rounds, *hw) and q.combined.shape == hw
            np.testing.assert_allclose(q.round_weights.sum(axis=(1, 2)), 1.0, atol=1e-12)
            assert q.round_probs.sum() == pytest.approx(1.0, abs=1e-12)
            np.testing.assert_allclose(q.combined, np.einsum("r,rhw->hw", q.round_probs, q.round_weights))
            assert np.all(q.round_weights[~q.attended] == 0)
            assert np.all(q.round_weights[q.attended] > 0)
            np.testing.assert_array_equal(q.attended_count, q.attended.sum(axis=(1, 2)))
            assert np.all(q.attended_count <= min(3 * k, length))
            for r in range(rounds):
                codes = bucket_map(cap, r)
                np.testing.assert_array_equal(q.same_bucket[r], codes == codes[qy, qx])
                assert q.bucket_size[r] == bucket_sizes(cap, r)[codes[qy, qx]]
                # Candidates: pixels whose own slot is in the query's or an adjacent chunk, plus
                # (at most) the pixels repeated by the padding.
                chunks = chunk_map(cap, r)
                c = chunks[qy, qx]
                near = np.isin(chunks, [c, (c - 1) % n_chunks, (c + 1) % n_chunks])
                assert np.all(q.attended[r][near])
                extra = q.attended[r] & ~near
                assert extra.sum() <= pad
            window = 2 * max(hw)
            assert query_attention(cap, qy, qx, local_radius=window).nonlocal_share == pytest.approx(0, abs=1e-12)
            assert 0 <= q.nonlocal_share <= 1
            assert 0 <= q.entropy <= np.log(length) + 1e-9


def test_every_pixel_has_a_weight_when_k_below_three_chunks(inspections):
    # (5, 6): K = 2 chunks, so own, previous and next chunk cover every slot of the round.
    cap = inspections[("tiny", (5, 6))].modules[0]
    q = query_attention(cap, 2, 3)
    assert q.attended.all() and np.all(q.attended_count == 30)


@pytest.mark.parametrize("hw", SIZES)
def test_maps(inspections, hw):
    for cap in inspections[("two", hw)].modules:
        length, k = hw[0] * hw[1], cap.chunk
        m = max(cap.buckets.buckets, 1)
        n_chunks = -(-length // k)
        for r in range(cap.n_hashes):
            codes = bucket_map(cap, r)
            assert codes.shape == hw
            if cap.buckets.buckets:
                np.testing.assert_array_equal(codes.reshape(-1), cap.buckets.codes[0, r].numpy())
            else:  # dense fallback: one bucket (compute_buckets' codes read -r there)
                assert np.all(codes == 0)
            assert codes.min() >= 0 and codes.max() < m
            sizes = bucket_sizes(cap, r)
            assert sizes.shape == (m,) and sizes.sum() == length
            np.testing.assert_array_equal(sizes, np.bincount(codes.reshape(-1), minlength=m))
            chunks = chunk_map(cap, r)
            assert chunks.shape == hw and chunks.min() == 0 and chunks.max() == n_chunks - 1
            expected_counts = [k] * (n_chunks - 1) + [length - k * (n_chunks - 1)]
            np.testing.assert_array_equal(np.bincount(chunks.reshape(-1)), expected_counts)
            # Chunks follow the sort: a later chunk never holds a lower bucket.
            lowest = [codes[chunks == c].min() for c in range(n_chunks)]
            highest = [codes[chunks == c].max() for c in range(n_chunks)]
            assert all(highest[c] <= lowest[c + 1] for c in range(n_chunks - 1))
        with pytest.raises(IndexError):
            bucket_map(cap, cap.n_hashes)


@pytest.mark.parametrize("hw", SIZES)
def test_dense_attention(inspections, hw):
    cap = inspections[("two", hw)].modules[-1]
    x = cap.x.double()
    keys = F.normalize(x, p=2, dim=-1, eps=KEY_NORM_EPS)
    for qy, qx in query_pixels(cap):
        d = dense_attention(cap, qy, qx)
        assert d.shape == hw and d.sum() == pytest.approx(1.0, abs=1e-12)
        direct = torch.softmax(keys @ x[qy * cap.width + qx], dim=0).numpy().reshape(hw)
        np.testing.assert_allclose(d, direct, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("hw", [(3, 5), (4, 4)])  # L < k (dense fallback) and L = k (K = 1)
def test_one_chunk_is_dense_attention(inspections, hw):
    for cap in inspections[("two", hw)].modules:
        for qy, qx in query_pixels(cap):
            q = query_attention(cap, qy, qx)
            np.testing.assert_allclose(q.combined, dense_attention(cap, qy, qx), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(q.round_probs, 1.0 / cap.n_hashes, atol=1e-12)


def test_seed_determines_buckets(models):
    model, lr = models["tiny"], lr_image(12, 13, seed=5)  # L = 156: 10 buckets
    a, b, c = (inspect(model, lr, seed=s).modules[0].buckets for s in (7, 7, 8))
    assert a.buckets == 10
    assert torch.equal(a.codes, b.codes) and torch.equal(a.order, b.order)
    assert not torch.equal(a.codes, c.codes)


def test_cancel_raises_and_restores(models):
    model = models["two"]
    with pytest.raises(Cancelled):
        inspect(model, lr_image(7, 9), cancel=lambda: True)
    calls = []

    def late_cancel() -> bool:  # cancel in the middle of the body
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        inspect(model, lr_image(7, 9), cancel=late_cancel)
    for module in model.nlsa_modules():
        assert not {"embed", "hash", "attend"} & set(vars(module))
    assert len(inspect(model, lr_image(7, 9), cancel=lambda: False).modules) == 2
