"""Training data: folders, paired LR, cache, skipped files, patch sampling and prefetching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from core.data import PatchSampler, Prefetcher, TrainImage, load_training_images
from core.base.errors import DataError, NLSNError
from core.image.resize import downscale, modcrop
from core.reference.images import smooth_image


@pytest.fixture()
def hr_dir(tmp_path):
    folder = tmp_path / "hr"
    (folder / "sub").mkdir(parents=True)
    PILImage.fromarray(smooth_image(41, 50, seed=1)).save(folder / "a.png")
    PILImage.fromarray(smooth_image(36, 36, seed=2)).save(folder / "sub" / "b.bmp")
    PILImage.fromarray(smooth_image(30, 33, seed=3)[..., 0]).save(folder / "grey.png")
    return folder


def test_hr_folder_gives_matlab_bicubic_pairs(hr_dir):
    images = load_training_images([hr_dir], scale=3)
    assert [im.name for im in images] == ["hr/a.png", "hr/grey.png", "hr/sub/b.bmp"]
    a = images[0]
    hr = modcrop(smooth_image(41, 50, seed=1), 3)
    assert a.hr.shape == (39, 48, 3) and np.array_equal(a.hr, hr)
    assert np.array_equal(a.lr, downscale(hr, 3))
    grey = images[1]
    assert grey.hr.shape[2] == 3 and np.array_equal(grey.hr[..., 0], grey.hr[..., 2])


def test_cache_is_reused_and_follows_changes(hr_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_training_images([hr_dir], scale=2, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 6
    import core.data.images

    calls = []
    real = core.data.images._make_pair
    monkeypatch.setattr(core.data.images, "_make_pair", lambda *a: calls.append(a) or real(*a))
    again = load_training_images([hr_dir], scale=2, cache_dir=cache)
    assert calls == []  # nothing decoded or resized a second time
    for x, y in zip(first, again):
        assert np.array_equal(x.hr, y.hr) and np.array_equal(x.lr, y.lr)
    PILImage.fromarray(smooth_image(44, 44, seed=9)).save(hr_dir / "a.png")  # edited image
    changed = load_training_images([hr_dir], scale=2, cache_dir=cache)
    assert len(calls) == 1 and changed[0].hr.shape == (44, 44, 3)


def test_progress_is_reported_and_can_stop_the_preparation(hr_dir, tmp_path):
    seen = []
    load_training_images([hr_dir], scale=2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]

    class Stop(Exception):
        pass

    def stop_after_two(done, total):
        if done == 2:
            raise Stop

    cache = tmp_path / "cache"
    with pytest.raises(Stop):
        load_training_images([hr_dir], scale=2, cache_dir=cache, progress=stop_after_two)
    assert len(list(cache.glob("*.npy"))) == 4  # the two prepared pairs stay cached


def test_damaged_cache_entry_is_rebuilt(hr_dir, tmp_path):
    cache = tmp_path / "cache"
    load_training_images([hr_dir], scale=2, cache_dir=cache)
    for f in cache.glob("*.npy"):
        f.write_bytes(b"garbage")
    images = load_training_images([hr_dir], scale=2, cache_dir=cache)
    assert len(images) == 3 and images[0].lr.shape == (20, 25, 3)


def test_bad_and_small_images_are_skipped_with_a_warning(hr_dir):
    (hr_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (hr_dir / "empty.jpg").write_bytes(b"")
    PILImage.fromarray(smooth_image(10, 10)).save(hr_dir / "small.png")
    warnings = []
    images = load_training_images([hr_dir], scale=2, min_lr_size=12, warn=warnings.append)
    assert [im.name for im in images] == ["hr/a.png", "hr/grey.png", "hr/sub/b.bmp"]
    assert len(warnings) == 3
    assert any("broken.png" in w for w in warnings) and any("small.png" in w and "12px" in w for w in warnings)


def test_missing_or_empty_folders_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_training_images([tmp_path / "nope"], scale=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable training image"):
        load_training_images([tmp_path / "empty"], scale=2)


def test_paired_lr_folders(tmp_path):
    hr_dir, lr_dir = tmp_path / "HR", tmp_path / "LR"
    hr_dir.mkdir()
    lr_dir.mkdir()
    hr = smooth_image(40, 40, seed=4)
    lr = smooth_image(20, 20, seed=5)  # any LR, e.g. real degraded images
    PILImage.fromarray(hr).save(hr_dir / "0001.png")
    PILImage.fromarray(lr).save(lr_dir / "0001x2.png")
    PILImage.fromarray(hr).save(hr_dir / "0002.png")  # no LR partner
    warnings = []
    images = load_training_images([hr_dir], scale=2, lr_dirs=[lr_dir], warn=warnings.append)
    assert len(images) == 1 and np.array_equal(images[0].lr, lr) and np.array_equal(images[0].hr, hr)
    assert len(warnings) == 1 and "0002.png" in warnings[0]
    with pytest.raises(DataError, match="one LR folder per HR folder"):
        load_training_images([hr_dir, hr_dir], scale=2, lr_dirs=[lr_dir])


def _images(n=3, scale=2):
    out = []
    for i in range(n):
        hr = modcrop(smooth_image(30 + 4 * i, 34, seed=i), scale)
        out.append(TrainImage(f"im{i}", hr, downscale(hr, scale)))
    return out


def test_patches_are_aligned_and_deterministic():
    images = _images()
    sampler = PatchSampler(images, scale=2, patch=8, augment=False, seed=3)
    lr, hr = sampler.sample(17)
    assert lr.shape == (8, 8, 3) and hr.shape == (16, 16, 3)
    # the LR patch is exactly the bicubic downscale of the HR patch's source region
    found = [im for im in images if any(
        np.array_equal(im.lr[y:y + 8, x:x + 8], lr) and np.array_equal(im.hr[2 * y:2 * y + 16, 2 * x:2 * x + 16], hr)
        for y in range(im.lr.shape[0] - 7) for x in range(im.lr.shape[1] - 7))]
    assert found
    again = PatchSampler(images, scale=2, patch=8, augment=False, seed=3).sample(17)
    assert np.array_equal(again[0], lr) and np.array_equal(again[1], hr)
    other = PatchSampler(images, scale=2, patch=8, augment=False, seed=4).sample(17)
    assert not np.array_equal(other[1], hr)


def test_augmentation_covers_the_eight_dihedral_forms_consistently():
    image = TrainImage("one", np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3),
                       np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3))
    sampler = PatchSampler([image], scale=2, patch=4, augment=True, seed=0)
    forms = set()
    for g in range(200):
        lr, hr = sampler.sample(g)
        forms.add(hr.tobytes())
        # the LR patch went through the same transform as the HR patch
        ok = False
        for k in range(4):
            for flip in (False, True):
                t = lambda a: np.rot90(a[:, ::-1] if flip else a, k)  # noqa: E731
                ok |= np.array_equal(t(image.lr), lr) and np.array_equal(t(image.hr), hr)
        assert ok
    assert len(forms) == 8


def test_batches_shard_the_global_batch_across_ranks():
    sampler = PatchSampler(_images(), scale=2, patch=8, seed=1)
    lr, hr = sampler.batch(5, batch_size=4)
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (4, 3, 16, 16)
    assert lr.dtype.is_floating_point and 0.0 <= float(lr.min()) and float(hr.max()) <= 1.0
    halves = [sampler.batch(5, batch_size=2, rank=r, world_size=2) for r in range(2)]
    assert np.array_equal(np.concatenate([h[0] for h in halves]), lr.numpy())
    assert np.array_equal(np.concatenate([h[1] for h in halves]), hr.numpy())


def test_batches_are_unit_float_tensors_exactly_as_torch_divides():
    sampler = PatchSampler(_images(), scale=2, patch=8, seed=3)
    lr, hr = sampler.batch(2, batch_size=3)
    samples = [sampler.sample(6 + j) for j in range(3)]
    for got, arrays in ((lr, [s[0] for s in samples]), (hr, [s[1] for s in samples])):
        expected = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
        assert got.dtype == torch.float32 and got.is_contiguous() and torch.equal(got, expected)


def test_prefetcher_yields_consecutive_steps_and_surfaces_errors():
    sampler = PatchSampler(_images(), scale=2, patch=8, seed=1)
    fetch = Prefetcher(sampler, start_step=7, batch_size=2)
    try:
        steps = []
        for _ in range(4):
            step, lr, hr = fetch.next()
            steps.append(step)
            expected = sampler.batch(step, batch_size=2)
            assert np.array_equal(lr.numpy(), expected[0].numpy())
        assert steps == [7, 8, 9, 10]
    finally:
        fetch.close()

    class Broken(PatchSampler):
        def batch(self, step, **kw):
            raise NLSNError("disk went away")

    broken = Prefetcher(Broken(_images(), scale=2, patch=8), start_step=0, batch_size=2)
    with pytest.raises(NLSNError, match="disk went away"):
        broken.next()
    broken.close()


def test_sampler_refuses_images_smaller_than_the_patch():
    with pytest.raises(DataError, match="smaller than the 48px"):
        PatchSampler(_images(), scale=2, patch=48)
