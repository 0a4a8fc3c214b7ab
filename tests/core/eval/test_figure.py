"""The paper figure: crops at native resolution, whole-number magnification, the LR's nearest pixels."""

from __future__ import annotations

import numpy as np
import pytest

from core.base.errors import NLSNError
from core.eval.figure import GAP, FigurePanel, Region, auto_magnify, crop, make_figure


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_crops_are_the_pixels_of_the_region_and_lr_is_nearest():
    lr, sr = _image(10, 12, 0), _image(20, 24, 1)
    region = Region(4, 6, 8, 6)
    assert np.array_equal(crop(FigurePanel("SR", sr), region), sr[6:12, 4:12])
    lr_crop = crop(FigurePanel("LR", lr, scale=2), region)
    assert np.array_equal(lr_crop, np.repeat(np.repeat(lr[3:6, 2:6], 2, axis=0), 2, axis=1))


def test_figure_places_magnified_crops_side_by_side():
    a, b = _image(20, 24, 1), _image(20, 24, 2)
    region = Region(2, 3, 5, 4)
    fig = make_figure([FigurePanel("A", a, "PSNR 30.00 dB"), FigurePanel("B", b)], region, magnify=3)
    first = fig[GAP : GAP + 12 : 3, GAP : GAP + 15 : 3]
    second = fig[GAP : GAP + 12 : 3, 2 * GAP + 15 : 2 * GAP + 30 : 3]
    assert np.array_equal(first, a[3:7, 2:7]) and np.array_equal(second, b[3:7, 2:7])
    assert fig.shape[1] == 3 * GAP + 30
    text = fig[GAP + 12 :, GAP : GAP + 15]
    assert (text < 128).any()  # the label is written below


def test_region_is_clipped_and_overview_comes_first():
    a = _image(20, 24, 1)
    fig = make_figure([FigurePanel("A", a)], Region(20, 15, 50, 50), overview=FigurePanel("whole", a))
    # Clipped to 4 x 5; the overview is the whole image at the crop's height, its box in red.
    assert fig.shape[0] > 5 and fig.shape[1] == GAP + 6 + GAP + 4 + GAP
    with pytest.raises(NLSNError):
        make_figure([], Region(0, 0, 1, 1))


def test_auto_magnify_reaches_the_side():
    assert auto_magnify(Region(0, 0, 50, 40), min_side=200) == 5
    assert auto_magnify(Region(0, 0, 400, 300), min_side=200) == 1


def test_an_error_map_is_shown_on_the_inferno_scale():
    from core.image.colour_map import colourise, inferno_table

    diff = np.linspace(0, 10, 20 * 24, dtype=np.float32).reshape(20, 24)
    region = Region(0, 0, 24, 20)
    rgb = crop(FigurePanel("|A - HR|", diff), region)
    assert np.array_equal(rgb, colourise(diff))
    assert tuple(rgb[-1, -1]) == tuple(inferno_table()[-1]) and tuple(rgb[0, 0]) == tuple(inferno_table()[0])
