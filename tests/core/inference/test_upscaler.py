"""Inference: whole image vs seamless tiles, determinism, ensemble, progress, cancel, image kinds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.base.errors import Cancelled, NLSNError
from core.image import Image
from core.inference import Upscaler, peak_bytes, plan_tiles, select_device
from core.inference.ensemble import transform, untransform
from core.network import NLSN, NLSNConfig, preset
from core.reference.images import smooth_image


def tiny(scale=2, **kw) -> NLSN:
    torch.manual_seed(0)
    return NLSN(NLSNConfig.from_dict({**preset("tiny", scale=scale).to_dict(), **kw})).eval()


def lr_tensor(h=20, w=24, seed=0) -> torch.Tensor:
    img = smooth_image(h, w, seed=seed)
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float() / 255


def test_whole_image_in_one_pass_equals_plain_forward():
    model = tiny()
    up = Upscaler(model, device="cpu")
    x = lr_tensor()
    out = up.upscale_tensor(x, seed=4)
    assert up.last_run.tiles == 1
    with torch.no_grad():
        ref = model(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(out, ref)


def test_same_seed_same_output_other_seed_other_output():
    up = Upscaler(tiny(), device="cpu")
    x = lr_tensor()
    a, b, c = up.upscale_tensor(x, seed=1), up.upscale_tensor(x, seed=1), up.upscale_tensor(x, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("h,w,maxpos", [(100, 100, 48 * 48), (50, 300, 2500), (300, 49, 3000), (97, 131, 2304)])
def test_tile_plan_covers_the_image_within_budget(h, w, maxpos):
    tiles = plan_tiles(h, w, max_positions=maxpos, overlap=16)
    covered = np.zeros((h, w), bool)
    for t in tiles:
        assert (t.y1 - t.y0) * (t.x1 - t.x0) <= max(maxpos, 48 * 48) * 1.05
        assert 0 <= t.y0 < t.y1 <= h and 0 <= t.x0 < t.x1 <= w
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
    assert covered.all()
    assert len(tiles) > 1


def test_tiles_blend_without_seams_for_a_local_network():
    # Without attention the network is local, so overlapping tiles must reproduce the whole image
    # up to the receptive field leaking across the ramps: no seam, tiny differences only.
    model = tiny(use_nlsa=False)
    x = lr_tensor(100, 96)
    whole = Upscaler(model, device="cpu").upscale_tensor(x)
    tiled_up = Upscaler(model, device="cpu", memory_budget=peak_bytes(model.config, 50, 50))
    tiled = tiled_up.upscale_tensor(x)
    assert tiled_up.last_run.tiles > 1
    diff = (tiled - whole).abs()
    assert diff.max() < 0.02
    assert diff.mean() < 1e-3


def test_tiles_with_attention_stay_close_to_whole_image():
    model = tiny()
    x = lr_tensor(100, 96)
    whole = Upscaler(model, device="cpu").upscale_tensor(x)
    tiled_up = Upscaler(model, device="cpu", memory_budget=peak_bytes(model.config, 50, 50))
    tiled = tiled_up.upscale_tensor(x)
    assert tiled_up.last_run.tiles > 1
    assert (tiled - whole).abs().mean() < 0.01


def test_ensemble_is_the_mean_of_eight_transformed_passes():
    model = tiny()
    x = lr_tensor(16, 20)
    got = Upscaler(model, device="cpu").upscale_tensor(x, seed=3, ensemble=True)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        expected = sum(untransform(model(transform(x, t), generator=g), t) for t in range(8)) / 8
    assert torch.allclose(got, expected, atol=1e-6)


def test_transforms_invert():
    x = torch.rand(1, 3, 5, 7)
    for t in range(8):
        assert torch.equal(untransform(transform(x, t), t), x)


def test_progress_reaches_one_and_cancel_stops():
    up = Upscaler(tiny(), device="cpu")
    seen = []
    up.upscale_tensor(lr_tensor(), progress=lambda f, msg: seen.append(f))
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:])) and len(seen) > 3

    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        up.upscale_tensor(lr_tensor(), ensemble=True, cancel=cancel)
    assert len(calls) == 3, "cancellation takes effect at the next stage"


def test_progress_is_weighted_by_each_stages_expected_time_then_by_what_it_took():
    from core.inference.work import PRIOR, StageCosts

    up = Upscaler(tiny(), device="cpu")
    steps = []
    up.upscale_tensor(lr_tensor(), progress=lambda f, msg: steps.append(f))
    increments = np.diff([0.0, *steps[:-1]])  # one per stage: head, body (attention first), tail
    kinds = ["head", "attention", *["block"] * (len(increments) - 3), "tail"]
    assert len(kinds) == len(increments) and kinds[1] == "attention"
    unit = increments[2] / PRIOR["block"]
    for kind, inc in zip(kinds, increments):  # a first run: the priors' proportions
        assert inc == pytest.approx(unit * up.costs.prior[kind], rel=1e-6)
    learned = dict(up.costs.learned)
    assert set(learned) == {"head", "attention", "block", "tail"} and all(v > 0 for v in learned.values())
    steps.clear()
    up.upscale_tensor(lr_tensor(), progress=lambda f, msg: steps.append(f))
    increments = np.diff([0.0, *steps[:-1]])  # the next run: what the first one took
    assert increments[1] / increments[2] == pytest.approx(learned["attention"] / learned["block"], rel=1e-6)

    costs = StageCosts(scale=4)
    assert costs.prior["tail"] == 4 * PRIOR["tail"]  # the x4 upsampler works on 4x the pixels of x2's
    costs.learn({"block": (2.0, 1000)})
    assert costs.weight("block") == 0.002 and costs.weight("attention") == pytest.approx(0.002 * 6.0)
    costs.learn({"block": (4.0, 1000)})
    assert costs.weight("block") == pytest.approx(0.003)  # an average of the runs, the newest weighing half


def test_upscale_image_keeps_grey_alpha_and_16_bit():
    up = Upscaler(tiny(scale=3), device="cpu")
    rgb = smooth_image(10, 12)
    grey16 = (smooth_image(10, 12, channels=1).astype(np.uint16) * 257)
    alpha = np.full((10, 12), 255, np.uint8)
    alpha[:, :6] = 0

    out = up.upscale_image(Image(pixels=rgb, alpha=alpha))
    assert out.pixels.shape == (30, 36, 3) and out.pixels.dtype == np.uint8
    assert out.alpha.shape == (30, 36)
    assert out.alpha[:, :15].max() == 0 and out.alpha[:, 21:].min() == 255  # bicubic alpha, edges kept

    out16 = up.upscale_image(Image(pixels=grey16, alpha=None))
    assert out16.pixels.shape == (30, 36, 1) and out16.pixels.dtype == np.uint16
    assert out16.alpha is None


def test_quantisation_matches_released_saving():
    up = Upscaler(tiny(), device="cpu")
    img = Image(pixels=smooth_image(12, 12), alpha=None)
    out = up.upscale_image(img, seed=7)
    x = torch.from_numpy(img.pixels).permute(2, 0, 1).unsqueeze(0).float() / 255
    with torch.no_grad():
        sr = up.model(x, generator=torch.Generator().manual_seed(7))
    released = sr.mul(255).clamp(0, 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert np.array_equal(out.pixels, released)


def test_devices():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(NLSNError, match="CUDA"):
            select_device("cuda")
        with pytest.raises(NLSNError, match="GPU"):
            Upscaler(tiny(), device="cpu", half=True)
    with pytest.raises(NLSNError, match="unknown device"):
        select_device("tpu")


def test_memory_estimate_grows_linearly():
    cfg = preset("light")
    a, b = peak_bytes(cfg, 100, 100), peak_bytes(cfg, 200, 200)
    assert 3.9 < b / a < 4.1
    assert peak_bytes(NLSNConfig(use_nlsa=False, n_feats=64), 100, 100) < a


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_close_to_cpu():
    model = tiny()
    x = lr_tensor()
    cpu = Upscaler(model, device="cpu").upscale_tensor(x, seed=0)
    gpu = Upscaler(tiny(), device="cuda").upscale_tensor(x, seed=0)
    assert (gpu - cpu).abs().mean() < 0.01


def test_results_too_large_for_memory_are_refused_before_work(monkeypatch):
    import core.inference.upscaler as inference

    monkeypatch.setattr(inference, "free_memory", lambda device: 1 << 30)  # 1 GiB free
    up = Upscaler(tiny(scale=4), device="cpu", memory_budget=1 << 30)
    with pytest.raises(NLSNError, match=r"would be 16000x16000 pixels \(256 MP\)"):
        up.upscale_tensor(torch.zeros(1, 3, 4000, 4000))


def test_running_out_of_memory_whole_goes_on_in_tiles(monkeypatch):
    model = tiny()
    up = Upscaler(model, device="cpu")
    x = lr_tensor(60, 64)
    whole = up.upscale_tensor(x, seed=1)
    real = Upscaler._forward
    sizes = []

    def small_memory(self, tile, generator):
        sizes.append(tile.shape[-2] * tile.shape[-1])
        if tile.shape[-2] * tile.shape[-1] > 2500:  # the whole 60 x 64 image does not fit; 48 x 48 does
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, tile, generator)

    monkeypatch.setattr(Upscaler, "_forward", small_memory)
    tiled = up.upscale_tensor(x, seed=1)
    assert up.last_run.fell_back and up.last_run.tiles > 1 and sizes[0] == 60 * 64
    assert tiled.shape == whole.shape and (tiled - whole).abs().mean() < 0.02  # seamless tiles, not a failure

    def always(self, tile, generator):
        raise torch.OutOfMemoryError("out of memory")

    monkeypatch.setattr(Upscaler, "_forward", always)
    with pytest.raises(torch.OutOfMemoryError):  # nothing smaller left to try: the caller reports it
        up.upscale_tensor(lr_tensor(20, 24))


def test_tile_size_precision_and_devices_are_the_users_choice():
    model = tiny()
    x = lr_tensor(100, 100)
    tiled = Upscaler(model, device="cpu", tile=48)
    tiled.upscale_tensor(x)
    assert tiled.last_run.tiles > 1 and tiled.max_positions() == 48 * 48
    with pytest.raises(NLSNError, match="at least 48"):
        Upscaler(model, device="cpu", tile=10)
    with pytest.raises(NLSNError, match="only supported on a GPU"):
        Upscaler(model, device="cpu", precision="fp16")
    fp32 = Upscaler(tiny(), device="cpu").upscale_tensor(lr_tensor(), seed=2)
    bf16 = Upscaler(tiny(), device="cpu", precision="bf16")
    out = bf16.upscale_tensor(lr_tensor(), seed=2)
    assert bf16.last_run.precision == "bf16" and out.dtype == torch.float32
    assert (out - fp32).abs().max() < 0.05 and not torch.equal(out, fp32)
    if not torch.cuda.is_available():
        with pytest.raises(NLSNError, match="no CUDA GPU"):
            select_device("cuda:1")
    with pytest.raises(NLSNError, match="cuda:N"):
        select_device("tpu")
