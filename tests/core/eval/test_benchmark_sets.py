"""Tests for core.eval.benchmark_sets: finding HR/LR pairs in the three supported layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.eval.benchmark_sets import EvalPair, find_pairs
from core.base.errors import DataError


def write_image(path: Path, size: tuple[int, int] = (8, 8)) -> Path:
    """Write a tiny RGB image (format from the extension) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def make_selfexsr(root: Path, names: list[str], scales: tuple[int, ...]) -> None:
    for scale in scales:
        for name in names:
            write_image(root / f"image_SRF_{scale}" / f"{name}_SRF_{scale}_HR.png")
            write_image(root / f"image_SRF_{scale}" / f"{name}_SRF_{scale}_LR.png", (4, 4))


# --------------------------------------------------------------------------------------------
# (a) SelfExSR
# --------------------------------------------------------------------------------------------


def test_selfexsr_layout(tmp_path: Path) -> None:
    make_selfexsr(tmp_path, ["img_002", "img_001", "img_010"], scales=(2, 3, 4))
    pairs = find_pairs(tmp_path, 3)
    folder = tmp_path / "image_SRF_3"
    assert pairs == [
        EvalPair(name=name, hr=folder / f"{name}_SRF_3_HR.png", lr=folder / f"{name}_SRF_3_LR.png")
        for name in ("img_001", "img_002", "img_010")
    ]


def test_selfexsr_missing_lr_means_make_it(tmp_path: Path) -> None:
    make_selfexsr(tmp_path, ["img_001", "img_002"], scales=(2,))
    (tmp_path / "image_SRF_2" / "img_002_SRF_2_LR.png").unlink()
    pairs = find_pairs(tmp_path, 2)
    assert [pair.name for pair in pairs] == ["img_001", "img_002"]
    assert pairs[0].lr is not None and pairs[1].lr is None


def test_selfexsr_missing_scale_raises(tmp_path: Path) -> None:
    make_selfexsr(tmp_path, ["img_001"], scales=(2, 4))
    with pytest.raises(DataError) as info:
        find_pairs(tmp_path, 3)
    message = str(info.value)
    assert str(tmp_path) in message and "image_SRF_3" in message and "\n" not in message


def test_selfexsr_scale_folder_without_hr_images_raises(tmp_path: Path) -> None:
    (tmp_path / "image_SRF_2").mkdir()
    with pytest.raises(DataError, match="no images"):
        find_pairs(tmp_path, 2)


# --------------------------------------------------------------------------------------------
# (b) EDSR released benchmark
# --------------------------------------------------------------------------------------------


def test_edsr_layout(tmp_path: Path) -> None:
    for name in ("woman", "baby", "bird"):
        write_image(tmp_path / "HR" / f"{name}.png")
        for scale in (2, 4):
            write_image(tmp_path / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png", (4, 4))
    pairs = find_pairs(tmp_path, 4)
    assert pairs == [
        EvalPair(name=name, hr=tmp_path / "HR" / f"{name}.png", lr=tmp_path / "LR_bicubic" / "X4" / f"{name}x4.png")
        for name in ("baby", "bird", "woman")
    ]
    with pytest.raises(DataError, match="X3"):
        find_pairs(tmp_path, 3)


def test_edsr_layout_without_lr_folder_makes_lr(tmp_path: Path) -> None:
    write_image(tmp_path / "HR" / "baby.png")
    assert find_pairs(tmp_path, 2) == [EvalPair(name="baby", hr=tmp_path / "HR" / "baby.png", lr=None)]


def test_edsr_layout_with_empty_hr_raises(tmp_path: Path) -> None:
    (tmp_path / "HR").mkdir()
    with pytest.raises(DataError, match="no images"):
        find_pairs(tmp_path, 2)


# --------------------------------------------------------------------------------------------
# (c) Plain folder
# --------------------------------------------------------------------------------------------


def test_plain_folder(tmp_path: Path) -> None:
    for file_name in ("c.PNG", "a.jpg", "b.TIFF", "d.webp", "e.bmp", "f.jpeg"):
        write_image(tmp_path / file_name)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    write_image(tmp_path / "sub" / "nested.png")  # not searched recursively
    pairs = find_pairs(tmp_path, 2)
    assert [pair.name for pair in pairs] == ["a", "b", "c", "d", "e", "f"]
    assert all(pair.lr is None for pair in pairs)
    assert pairs[2].hr == tmp_path / "c.PNG"


def test_plain_folder_with_ambiguous_names_raises(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "a.jpg")
    with pytest.raises(DataError, match="'a'"):
        find_pairs(tmp_path, 2)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_missing_folder_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as info:
        find_pairs(missing, 2)
    assert str(missing) in str(info.value) and "\n" not in str(info.value)


def test_file_instead_of_folder_raises(tmp_path: Path) -> None:
    image = write_image(tmp_path / "a.png")
    with pytest.raises(DataError, match="not a folder"):
        find_pairs(image, 2)


def test_empty_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "readme.md").write_text("no images here")
    with pytest.raises(DataError) as info:
        find_pairs(tmp_path, 2)
    assert "no images" in str(info.value) and str(tmp_path) in str(info.value)


def test_bad_scale_is_a_programming_error(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png")
    with pytest.raises(ValueError):
        find_pairs(tmp_path, 0)


def test_eval_pair_is_frozen() -> None:
    pair = EvalPair(name="x", hr=Path("x.png"), lr=None)
    with pytest.raises(AttributeError):
        pair.name = "y"  # type: ignore[misc]
