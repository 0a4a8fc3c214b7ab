"""Several models in the linked panels: NLSN and other architectures side by side, scored, swiped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

pytest.importorskip("pytestqt")

from core.checkpoints import load_model  # noqa: E402
from core.eval.compare import score, simulate_lr  # noqa: E402
from core.image import Image  # noqa: E402
from core.inference import Upscaler  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402
from nlsn_gui.qt.compare_models import run_order  # noqa: E402
from nlsn_gui.state.panels import compared_key  # noqa: E402
from tests.foreign_models import build, save  # noqa: E402
from tests.gui.qt.helpers import idle, use_model  # noqa: E402


@pytest.fixture
def models(tmp_path, tiny_model):
    return [str(tiny_model), str(save(build("RCAN"), tmp_path / "rcan.pth")),
            str(save(build("SwinIR"), tmp_path / "swinir.safetensors"))]


def _open_simulated(qtbot, window, tmp_path):
    src = tmp_path / "truth.png"
    PILImage.fromarray(smooth_image(32, 36, seed=4)).save(src)
    window.mode_box.setCurrentIndex(window.mode_box.findData("simulate"))
    window.open_path(src)
    idle(qtbot, window)
    return Image(smooth_image(32, 36, seed=4))


def test_four_models_side_by_side_scored_and_swiped(qtbot, window, tmp_path, models):
    use_model(qtbot, window, Path(models[0]))
    truth = _open_simulated(qtbot, window, tmp_path)
    window.comparison.start(models)
    idle(qtbot, window)
    doc = window.doc
    # The toolbar's model runs last: its result is the current one; the others stand beside it.
    assert doc.made.model == models[0] and list(doc.compared) == models[1:]
    keys = window.compare.panel_keys()
    assert keys == ["lr", "bicubic", compared_key(models[1]), compared_key(models[2]), "nlsn", "hr", "diff"]
    titles = [window.compare.panel_title(k) for k in keys]
    assert titles[2:5] == ["rcan (RCAN)", "swinir (SwinIR)", "tiny-x2"]
    assert "4 results compared" not in window.status_label.text()  # bicubic is not a model run
    assert "3 results compared" in window.status_label.text()

    # Every panel's score is the protocol's on what that model makes of the simulated LR.
    lr, hr = simulate_lr(truth, 2)
    rcan = Upscaler(load_model(models[1]).model, device="cpu").upscale_image(lr)
    other = doc.compared[models[1]]
    assert np.array_equal(other.display, rcan.pixels)
    assert other.scores.text() == score(rcan, hr, 2).text()
    assert window.compare._slots[compared_key(models[1])].panel.subtitle == other.scores.text()

    # The error map can be any result's.
    window.comparison.map_errors_of(models[2])
    assert window.compare.panel_title("diff") == "|swinir − HR|"
    np.testing.assert_allclose(window.compare._slots["diff"].panel.pixels, doc.compared[models[2]].diff)
    window.comparison.map_errors_of(None)
    assert window.compare.panel_title("diff") == "|tiny-x2 − HR|"

    # Panels can be hidden, and any two swiped.
    window.compare.set_panel_visible(compared_key(models[2]), False)
    assert compared_key(models[2]) not in window.compare.visible_keys()
    window.compare.set_mode("swipe")
    window.compare.set_swipe_pair(compared_key(models[1]), compared_key(models[2]))
    assert window.compare.swipe_pair() == (compared_key(models[1]), compared_key(models[2]))
    window.compare.set_mode("side")

    # Choosing a compared model in the toolbar says its result is there already.
    window.models.add(models[2], "swinir.safetensors")
    window.chooser.refresh()
    window.model_box.setCurrentIndex(window.model_box.findData(models[2]))
    assert "swinir's result is among the panels" in window.status_label.text()
    window.model_box.setCurrentIndex(window.model_box.findData(models[0]))

    # Running a model again replaces its own result only; Clear keeps the current one.
    window.comparison.start([models[1]])
    idle(qtbot, window)
    assert doc.made.model == models[1] and list(doc.compared) == [models[2], models[0]]
    window.comparison.clear()
    assert doc.compared == {} and window.compare.panel_keys() == ["lr", "bicubic", "nlsn", "hr", "diff"]


def test_the_results_come_back_with_their_scale(qtbot, window, tmp_path, models):
    use_model(qtbot, window, Path(models[0]))
    _open_simulated(qtbot, window, tmp_path)
    window.comparison.start(models[:2])
    idle(qtbot, window)
    window.scale_box.setCurrentIndex(window.scale_box.findData(3))
    idle(qtbot, window)
    assert window.doc.compared == {}
    window.scale_box.setCurrentIndex(window.scale_box.findData(2))
    idle(qtbot, window)
    assert list(window.doc.compared) == [models[1]]


def test_the_inspector_says_why_another_architecture_has_nothing_to_show(qtbot, window, tmp_path, models):
    use_model(qtbot, window, Path(models[1]))
    PILImage.fromarray(smooth_image(20, 24)).save(tmp_path / "a.png")
    window.open_path(tmp_path / "a.png")
    idle(qtbot, window)
    window.inspector.inspect()
    idle(qtbot, window)
    assert "rcan (RCAN) has no sparse attention" in window.status_label.text()


def test_run_order_puts_the_toolbar_model_last():
    assert run_order(["a", "b", "a", "c"], "a") == ["b", "c", "a"]
    assert run_order(["a", "b"], None) == ["a", "b"]


def test_export_figure_of_the_region_in_view(qtbot, window, tmp_path, models):
    from core.image import load_image

    use_model(qtbot, window, Path(models[0]))
    _open_simulated(qtbot, window, tmp_path)
    window.comparison.start(models[:2])
    idle(qtbot, window)
    window.compare.set_panel_visible("diff", False)
    window.compare.set_view_range((10, 30), (8, 24))  # about 20 x 16 output pixels (the aspect is kept)
    region = window.figure.region()
    (x0, x1), (y0, y1) = window.compare.view_range()
    assert (region.x, region.y, region.w, region.h) == (round(x0), round(y0), round(x1) - round(x0),
                                                        round(y1) - round(y0))
    m = min(8, -(-200 // min(region.w, region.h)))  # at most 8x
    out = tmp_path / "figure.png"
    window.figure.export(out)
    idle(qtbot, window)
    assert "Figure of 5 panels saved" in window.status_label.text()
    figure = load_image(out).pixels
    # The overview and five crops (LR, bicubic, rcan, tiny-x2, HR), magnified m times to 200+ px.
    h, w = region.h * m, region.w * m
    assert figure.shape[0] > h and figure.shape[1] > 5 * w
    hr_crop = window.doc.displays["hr"][region.y : region.y + region.h, region.x : region.x + region.w]
    right = figure[8 : 8 + h : m, -8 - w : -8 : m]
    assert np.array_equal(right, hr_crop)  # the last crop is the truth at native resolution, pixel for pixel


def test_hash_rounds_side_by_side(qtbot, window, tmp_path, models):
    use_model(qtbot, window, Path(models[0]))
    _open_simulated(qtbot, window, tmp_path)
    window.run.rounds_actions[1].trigger()
    window.upscale()
    idle(qtbot, window)
    assert "1 hash round" in window.status_label.text() and "PSNR" in window.status_label.text()
    window.run.rounds_actions[8].trigger()
    assert "made with 1 round" in window.compare.panel_title("nlsn")
    window.upscale()
    idle(qtbot, window)
    titles = [window.compare.panel_title(k) for k in window.compare.panel_keys()]
    assert "tiny-x2 · 1 round" in titles and "tiny-x2 · 8 rounds" in titles
    lr, hr = simulate_lr(Image(smooth_image(32, 36, seed=4)), 2)
    eight = Upscaler(load_model(models[0]).model, device="cpu", rounds=8).upscale_image(lr)
    assert window.doc.comparison.sr_scores.text() == score(eight, hr, 2).text()
    window.run.rounds_actions[None].trigger()
    assert window.run.options.rounds is None


def test_model_statistics_for_the_image_size(qtbot, window, tmp_path, models):
    from core.inspection.stats import model_stats

    use_model(qtbot, window, Path(models[0]))
    _open_simulated(qtbot, window, tmp_path)  # LR 18 x 16
    window.stats.run()
    idle(qtbot, window)
    dialog = window.stats.last
    want = model_stats(load_model(models[0]).model, 18, 16)
    assert dialog.table.rowCount() == len(want.stages)
    assert dialog.table.item(2, 0).text() == "body.0 (attention)"
    assert f"{want.flops / 1e9:.2f} GFLOPs for 18×16" in window.status_label.text()
    dialog.close()


def test_whole_image_and_tiles_side_by_side(qtbot, window, tmp_path, models):
    from dataclasses import replace

    use_model(qtbot, window, Path(models[0]))
    src = tmp_path / "big.png"
    PILImage.fromarray(smooth_image(200, 200, seed=5)).save(src)  # LR 100 x 100
    window.mode_box.setCurrentIndex(window.mode_box.findData("simulate"))
    window.open_path(src)
    idle(qtbot, window)
    window.upscale()
    idle(qtbot, window)
    window.run.options = replace(window.run.options, tile=48)  # Model > Memory and Tiles: tiles of 48 px
    window.upscale()
    idle(qtbot, window)
    titles = [window.compare.panel_title(k) for k in window.compare.panel_keys()]
    assert "tiny-x2" in titles and "tiny-x2 · tiles of 48 px" in titles
    whole = next(iter(window.doc.compared.values()))
    assert whole.scores.text() != window.doc.comparison.sr_scores.text()  # each scored on its own


def test_difference_of_two_results_without_a_truth(qtbot, window, tmp_path, models):
    """Upscale mode: no HR, yet the whole image against tiles is mapped as |tiles − whole|."""
    from dataclasses import replace

    from PySide6.QtWidgets import QMenu

    from core.eval.compare import pixel_difference

    use_model(qtbot, window, Path(models[0]))
    src = tmp_path / "lr.png"
    PILImage.fromarray(smooth_image(100, 100, seed=5)).save(src)
    window.open_path(src)
    idle(qtbot, window)
    window.upscale()
    idle(qtbot, window)
    window.run.options = replace(window.run.options, tile=32)
    window.upscale()
    idle(qtbot, window)
    assert "diff" not in window.compare.panel_keys()  # no truth: nothing mapped yet
    menu = QMenu()
    window.comparison.fill_error_menu(menu)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels == ["Against tiny-x2 · tiles of 32 px", "|tiny-x2 · tiles of 32 px − tiny-x2|"]
    next(a for a in menu.actions() if a.text().startswith("|")).trigger()
    assert "diff" in window.compare.panel_keys()
    assert window.compare.panel_title("diff") == "|tiny-x2 · tiles of 32 px − tiny-x2|"
    whole = next(iter(window.doc.compared.values()))
    expected = pixel_difference(window.doc.displays["nlsn"], whole.display)
    np.testing.assert_array_equal(window.doc.difference_between(), expected)
    assert f"mean {expected.mean():.2f}" in window.compare.panel_subtitle("diff")
    window.comparison.clear()  # Clear Compared Results: the difference goes with the other result
    assert window.doc.diff_between is None and "diff" not in window.compare.panel_keys()
