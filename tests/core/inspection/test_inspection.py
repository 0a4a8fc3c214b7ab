"""NLSA inspection: the captured forward is the normal forward, and the per-query weights are
exactly the ones that forward applied."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.base.errors import Cancelled
from core.inference import Upscaler
from core.image import Image, image_tensor
from core.inspection import (
    Inspection,
    ModuleCapture,
    attention_stats,
    bucket_changes,
    bucket_map,
    bucket_palette,
    bucket_size_summary,
    bucket_sizes,
    chunk_map,
    colourise_buckets,
    inferno_table,
    dense_attention,
    dense_coverage,
    dimmed_grey,
    heatmap_rgba,
    inspect,
    inspect_image,
    local_window,
    log_axis,
    log_axis_ticks,
    mask_rgba,
    normalise_weights,
    query_attention,
    round_rows,
)
from core.attention import KEY_NORM_EPS, NonLocalSparseAttention, sparse_attention_reference
from core.network import NLSN, NLSNConfig, preset

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


# --------------------------------------------------------------------------- inspecting an Image


def test_inspect_image_is_inspect_of_its_tensor(models):
    model = models["two"]
    pixels = np.random.default_rng(4).integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    image = Image(pixels)
    lr = image_tensor(image)
    assert lr.shape == (1, 3, 7, 9) and lr.dtype == torch.float32
    np.testing.assert_allclose(lr[0].permute(1, 2, 0).numpy(), pixels / 255.0, atol=1e-7)
    calls = []
    ins = inspect_image(model, image, seed=5, progress=lambda f, msg: calls.append(f))
    ref = inspect(model, lr, seed=5)
    assert torch.equal(ins.sr, ref.sr)
    for a, b in zip(ins.modules, ref.modules):
        assert torch.equal(a.buckets.codes, b.buckets.codes) and torch.equal(a.x, b.x)
    assert calls[-1] == 1.0 and calls == sorted(calls) and len(calls) == len(model.body) + 3


def test_inspect_image_restores_the_dtype():
    torch.manual_seed(0)
    model = NLSN(preset("tiny", scale=2)).to(torch.float64)  # any dtype other than inspect's float32
    inspect_image(model, Image(np.full((5, 6, 3), 128, np.uint8)))
    assert {p.dtype for p in model.parameters()} == {torch.float64}


# --------------------------------------------------------------------------- numbers for a view


@pytest.mark.parametrize("hw", SIZES)
def test_round_rows_and_stats_agree_with_the_query(inspections, hw):
    for cap in inspections[("two", hw)].modules:
        for qy, qx in query_pixels(cap):
            q = query_attention(cap, qy, qx)
            rows = round_rows(cap, q)
            assert [r.round for r in rows] == list(range(cap.n_hashes))
            for r, row in enumerate(rows):
                assert row.bucket == bucket_map(cap, r)[qy, qx]
                assert row.size == q.bucket_size[r] == bucket_sizes(cap, r)[row.bucket]
                assert row.attended == q.attended_count[r]
                assert row.prob == pytest.approx(q.round_probs[r])
                assert row.top_weight == pytest.approx(q.round_weights[r].max())
            stats = attention_stats(q.combined, qy, qx)
            assert stats.entropy == pytest.approx(q.entropy, abs=1e-12)
            assert stats.nonlocal_share == pytest.approx(q.nonlocal_share, abs=1e-12)
            y0, y1, x0, x1 = local_window(qy, qx, 3, *hw)
            assert 0 <= y0 <= qy < y1 <= hw[0] and 0 <= x0 <= qx < x1 <= hw[1]
            assert y1 - y0 <= 7 and x1 - x0 <= 7
            dense = dense_attention(cap, qy, qx)
            coverage = dense_coverage(q, dense)
            assert 0 < coverage <= 1 + 1e-12
            if q.attended.any(axis=0).all():  # every pixel attended in some round
                assert coverage == pytest.approx(1.0, abs=1e-12)
            else:
                assert coverage == pytest.approx(dense[q.attended.any(axis=0)].sum())


def test_local_window_clips_at_the_border():
    assert local_window(0, 0, 3, 10, 12) == (0, 4, 0, 4)
    assert local_window(5, 6, 3, 10, 12) == (2, 9, 3, 10)
    assert local_window(9, 11, 3, 10, 12) == (6, 10, 8, 12)
    w = np.zeros((10, 12))
    w[5, 6], w[0, 0] = 0.75, 0.25
    stats = attention_stats(w, 5, 6)
    assert stats.nonlocal_share == pytest.approx(0.25) and stats.top_weight == 0.75
    assert stats.entropy == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert stats.max_entropy == pytest.approx(np.log(120))
    assert attention_stats(np.full((10, 12), 1 / 120), 0, 0).entropy == pytest.approx(np.log(120))


def test_bucket_changes():
    a = np.array([[0, 0, 1], [1, 2, 2]])
    same = bucket_changes(a, (a + 5) % 3)  # relabelled only: nothing changed
    assert (same.changed, same.total, same.pairs_kept) == (0, 6, 1.0)
    c = bucket_changes(np.array([0, 0, 1, 1, 2, 2]), np.array([5, 5, 3, 3, 3, 7]))
    # buckets 0 -> 5 and 1 -> 3 stay whole; bucket 2 splits: one of its pixels changed.
    assert c.changed == 1 and c.fraction == pytest.approx(1 / 6)
    assert c.pairs_kept == pytest.approx(2 / 3)  # pairs before: 3, kept: (0,1) and (2,3)
    with pytest.raises(ValueError):
        bucket_changes(np.zeros(3), np.zeros(4))


def test_seed_changes_buckets_counted(models):
    model, lr = models["tiny"], lr_image(12, 13, seed=5)
    a, b = (inspect(model, lr, seed=s).modules[0] for s in (7, 8))
    change = bucket_changes(bucket_map(a, 0), bucket_map(b, 0))
    assert 0 < change.changed < change.total == 156 and 0 <= change.pairs_kept < 1


# --------------------------------------------------------------------------- colours


def test_bucket_palette_tells_neighbours_apart():
    for m in (1, 2, 7, 40, 300):
        p = bucket_palette(m)
        assert p.shape == (m, 3) and p.dtype == np.uint8
    p = bucket_palette(300).astype(np.int64)
    steps = np.abs(np.diff(p, axis=0)).sum(axis=1)  # consecutive ids
    assert steps.min() >= 100
    luma = p @ np.array([299, 587, 114]) // 1000
    assert np.abs(np.diff(luma)).min() >= 30  # and they differ in lightness too
    assert len({tuple(c) for c in bucket_palette(64)}) == 64
    assert np.array_equal(bucket_palette(10), bucket_palette(20)[:10])  # ids keep their colour


def test_colorize_buckets():
    codes = np.array([[0, 1, 2], [2, 1, 0]])
    out = colourise_buckets(codes, 3, alpha=200)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], bucket_palette(3)[codes])
    assert np.all(out[..., 3] == 200)
    with pytest.raises(ValueError):
        colourise_buckets(codes, 2)


def test_colormap_is_inferno():
    table = inferno_table()
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert tuple(table[0]) == (0, 0, 4) and tuple(table[-1]) == (252, 255, 164)
    luma = table.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luma) > -0.5) and np.diff(luma[::8]).min() > 0  # lightness rises (rounding aside)


def test_heatmap_rgba():
    w = np.array([[0.0, 1e-5, 1e-3, 1e-2, 0.1]])
    out = heatmap_rgba(w)  # log, 3 decades below the max
    assert out.shape == (1, 5, 4) and out.dtype == np.uint8
    assert out[0, 0, 3] == 0 and out[0, 1, 3] == 0  # nothing, and below the range: transparent
    assert out[0, 4, 3] == 255 and tuple(out[0, 4, :3]) == tuple(inferno_table()[-1])
    np.testing.assert_allclose(normalise_weights(w), [[0, 0, 1 / 3, 2 / 3, 1]])
    assert np.all(np.diff(out[0, 2:, :3].astype(int) @ np.array([299, 587, 114])) > 0)
    np.testing.assert_allclose(normalise_weights(w, scale="linear"), w / 0.1)
    np.testing.assert_allclose(normalise_weights(w, scale="gamma", gamma=0.5), np.sqrt(w / 0.1))
    np.testing.assert_allclose(normalise_weights(w, vmax=0.01, scale="linear"), np.minimum(w / 0.01, 1))
    opaque = heatmap_rgba(w, fade=0.0)
    assert np.all(opaque[..., 3] == 255)
    assert np.all(heatmap_rgba(np.zeros((2, 2)))[..., 3] == 0)  # no weight at all: fully transparent
    assert np.all(heatmap_rgba(w, alpha=100)[..., 3] <= 100)
    with pytest.raises(ValueError):
        normalise_weights(w, scale="cubic")


def test_log_colour_bar_runs_the_scale_from_its_bottom_to_its_top():
    from core.inspection import log_colour_bar

    bar = log_colour_bar(vmax=0.02, decades=3.0)
    assert bar.shape == (1, 256, 4) and np.all(bar[..., 3] == 255)  # opaque, for a legend
    assert tuple(bar[0, 0, :3]) == tuple(inferno_table()[0]) and tuple(bar[0, -1, :3]) == tuple(inferno_table()[-1])
    ramp = 0.02 * 10.0 ** np.linspace(-3.0, 0.0, 256)[None, :]
    np.testing.assert_array_equal(bar, heatmap_rgba(ramp, vmax=0.02, fade=0.0))


def test_mask_and_backdrop():
    mask = np.array([[True, False], [False, True]])
    out = mask_rgba(mask, (10, 20, 30), alpha=180)
    assert tuple(out[0, 0]) == (10, 20, 30, 180) and tuple(out[0, 1]) == (0, 0, 0, 0)
    rgb = np.array([[[255, 255, 255], [0, 0, 0]]], dtype=np.uint8)
    grey = dimmed_grey(rgb, level=0.5)
    assert grey.shape == (1, 2, 3) and grey.dtype == np.uint8
    assert tuple(grey[0, 0]) == (128, 128, 128) and tuple(grey[0, 1]) == (0, 0, 0)
    assert dimmed_grey(np.dstack([rgb, np.full((1, 2), 255, np.uint8)])).shape == (1, 2, 3)


def test_bucket_size_summary():
    summary = bucket_size_summary(np.array([3, 0, 40, 5, 0, 17]), chunk=16)
    assert (summary.buckets, summary.largest, summary.largest_id) == (6, 40, 2)
    assert summary.median == 4.0 and summary.empty == 2 and summary.over_chunk == 2
    assert bucket_size_summary(np.array([], dtype=int), chunk=16).buckets == 0


def test_log_axis():
    np.testing.assert_allclose(log_axis(np.array([0, 9, 99])), [0, 1, 2])
    assert log_axis_ticks(250) == [(log_axis(1), "1"), (log_axis(10), "10"), (log_axis(100), "100")]
    assert log_axis_ticks(0) == [(log_axis(1), "1")]


def test_composite_blends_at_the_inspectors_opacity_and_marks_the_query():
    from core.inspection.colours import composite

    base = np.full((20, 30, 3), 100, np.uint8)
    overlay = np.zeros((20, 30, 4), np.uint8)
    overlay[..., 0], overlay[..., 3] = 255, 255
    out = composite(base, overlay, opacity=0.5)
    assert out.shape == (20, 30, 3) and tuple(out[0, 0]) == (178, 50, 50)  # round(100 + 0.5 (255 - 100))
    assert np.array_equal(composite(base, None), base)
    marked = composite(base, None, mark=(10, 15))
    assert tuple(marked[10, 15]) == (100, 100, 100) and tuple(marked[10, 19]) == (0, 255, 255)
    assert tuple(marked[4, 15]) == (0, 255, 255) and tuple(marked[3, 15]) == (100, 100, 100)
    with pytest.raises(ValueError):
        composite(base, overlay[:10])
