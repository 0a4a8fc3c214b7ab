"""The inspector's attribution (LAM) section, driven as a user would: inspect, click a query pixel,
choose a second model, Attribute; the maps and numbers equal core's for the same box."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.checkpoints import load_model  # noqa: E402
from core.image import Image, image_tensor, load_image  # noqa: E402
from core.inspection.attribution import local_attribution  # noqa: E402
from core.inspection.colours import composite  # noqa: E402
from core.network import NLSNConfig  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402
from tests.gui.qt.helpers import TIMEOUT, idle, save_tiny  # noqa: E402
from tests.gui.qt.test_inspector import H, W, inspected, view_for  # noqa: E402


def test_attribute_two_models(qtbot, window, tiny_model, tmp_path):
    other = save_tiny(tmp_path / "local-x2.safetensors", NLSNConfig(n_feats=8, n_resblocks=2, use_nlsa=False))
    window.open_model(other)
    idle(qtbot, window)
    pixels = smooth_image(H, W)
    inspected(qtbot, window, tiny_model, pixels)
    panel, section = window.inspector, window.inspector.attribution
    assert not section.button.isEnabled()  # no query pixel yet
    panel.select_query(10, 12)
    view_for(qtbot, panel, module=0, round_=0, query=(10, 12))
    assert section.button.isEnabled()
    section.set_other(str(other))
    assert section.other_box.currentData() == str(other)
    assert section.other_box.findData(str(tiny_model)) < 0  # the inspected model is the first already
    section.steps_box.setValue(3)
    section.region_box.setCurrentIndex(section.region_box.count() - 1)  # the whole image
    with qtbot.waitSignal(section.shown, timeout=TIMEOUT):
        section.attribute()
    result = section.state.result
    assert [m.path for m in result.models] == [str(tiny_model), str(other)]
    assert result.box == (17, 13, 16, 16)  # 16x16 around the query's output centre (25, 21)
    lr = image_tensor(Image(pixels))
    for m, path in zip(result.models, (tiny_model, other)):
        expected = local_attribution(load_model(path).model, lr, result.box, steps=3, seed=window.selection().seed)
        np.testing.assert_allclose(m.attribution.map, expected.map, atol=1e-6)
        assert m.attribution.diffusion_index == pytest.approx(expected.diffusion_index, abs=1e-6)
    captions = [view[4].text() for view in section.views]
    assert captions[0].startswith("tiny-x2") and f"DI {result.models[0].attribution.diffusion_index:.2f}" in captions[0]
    assert captions[1].startswith("local-x2") and section.views[1][0].isVisible()
    assert "16×16 at (17, 13)" in section.summary.text() and "3 path points" in section.summary.text()
    assert section.colour_bar.isVisible() and section.colour_bar.image.pixmap().width() == 256

    # Over the compare view: the first model's map as the overlay.
    panel.set_overlay("lam")
    item = window.compare.overlays.item("lr")
    assert item is not None and item.image is not None
    np.testing.assert_array_equal(item.image, result.models[0].overlay)
    assert "attribution" in panel.legend.text.text().lower()
    assert panel.export_png(tmp_path / "lam.png")  # Export PNG…: that overlay over the LR, as a figure
    want = composite(window.doc.displays["lr"], result.models[0].overlay,
                     opacity=panel.opacity_slider.value() / 100, mark=panel.state.query)
    np.testing.assert_array_equal(load_image(tmp_path / "lam.png").pixels, want)

    # A smaller box: 8x8 around the same centre.
    section.box_size.setValue(8)
    section.set_other(None)
    with qtbot.waitSignal(section.shown, timeout=TIMEOUT):
        section.attribute()
    assert section.state.result.box == (21, 17, 8, 8) and len(section.state.result.models) == 1
    assert not section.views[1][0].isVisible()

    # A new image: the attribution no longer applies.
    window.open_image(Image(smooth_image(H, W, seed=5)), name="other.png")
    idle(qtbot, window)
    qtbot.waitUntil(lambda: section.state.result is None, timeout=TIMEOUT)
    assert not section.glw.isVisible()


def test_the_wheel_scrolls_the_dock_not_its_combo_boxes(qtbot, window):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QComboBox

    box = window.inspector.overlay_box
    before = box.currentIndex()
    event = QWheelEvent(QPointF(5, 5), QPointF(5, 5), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(box, event)
    assert box.currentIndex() == before  # not focused: the wheel went to the dock's scroll bar
    plain = QComboBox()
    plain.addItems(["a", "b", "c"])
    QApplication.sendEvent(plain, event)
    assert plain.currentIndex() == 1  # the same event turns an unguarded combo box


def test_a_model_opened_after_inspecting_is_offered(qtbot, window, tiny_model, tmp_path):
    inspected(qtbot, window, tiny_model, smooth_image(H, W))
    section = window.inspector.attribution
    later = save_tiny(tmp_path / "later-x2.safetensors", NLSNConfig(n_feats=8, n_resblocks=2, use_nlsa=False))
    window.open_model(later)
    idle(qtbot, window)
    assert section.other_box.findData(str(later)) < 0  # not yet refilled
    section.other_box.showPopup()
    assert section.other_box.findData(str(later)) >= 0
    section.other_box.hidePopup()


def test_cancel_stops_an_attribution(qtbot, window, tiny_model):
    inspected(qtbot, window, tiny_model, smooth_image(H, W))
    panel, section = window.inspector, window.inspector.attribution
    panel.select_query(10, 12)
    view_for(qtbot, panel, module=0, round_=0, query=(10, 12))
    section.steps_box.setValue(400)
    section.attribute()
    qtbot.waitUntil(lambda: window.worker.busy, timeout=TIMEOUT)
    assert section.button.text() == "Attributing…" and not section.button.isEnabled()
    window.cancel()  # Esc
    qtbot.waitUntil(lambda: section.state.job is None and section.button.isEnabled(), timeout=TIMEOUT)
    assert section.state.result is None and section.button.text() == "Attribute"
