"""The attention inspector, driven as a user would (offscreen): inspect, pick module and round,
click pixels, compare with dense attention, re-hash, export; every number checked against the API."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QRectF, Qt  # noqa: E402

from core.checkpoints import load_model  # noqa: E402
from core.image import Image, image_tensor, load_image  # noqa: E402
from core.inspection import (  # noqa: E402
    bucket_changes,
    bucket_map,
    bucket_sizes,
    colourise_buckets,
    dense_attention,
    heatmap_rgba,
    inspect,
    log_axis,
    mask_rgba,
    query_attention,
)
from core.network import NLSNConfig  # noqa: E402
from nlsn_gui.state.inspector import HINT, READY_HINT  # noqa: E402
from nlsn_gui.tasks.inspect import ATTENDED_COLOUR, HEAT_SCALE, SHARED_COLOUR  # noqa: E402
from tests.gui.qt.helpers import TIMEOUT, idle, save_tiny  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402

H, W = 24, 28
# Two NLSA modules (body 0 and 9), three rounds, chunk 16: 672 LR pixels hash into 42 buckets.
TWO_MODULES = NLSNConfig(n_feats=16, n_resblocks=8, res_scale=0.1, n_hashes=3, chunk_size=16)


@pytest.fixture()
def two_model(tmp_path):
    return save_tiny(tmp_path / "two-x2.safetensors", TWO_MODULES)


def open_with_model(qtbot, win, model_path, pixels):
    win.open_model(model_path)
    idle(qtbot, win)
    assert win.model_path() == str(model_path), win.status_label.text()
    win.open_image(Image(pixels), name="smooth.png")
    idle(qtbot, win)


def show_inspector(qtbot, win):
    if not win.inspector_dock.isVisible():
        win.act_inspector.trigger()
    qtbot.waitUntil(lambda: win.inspector_dock.isVisible() and win.inspector.state.active, timeout=TIMEOUT)


def inspected(qtbot, win, model_path, pixels):
    """Open the image, show the inspector, Inspect; returns the expected API inspection."""
    open_with_model(qtbot, win, model_path, pixels)
    show_inspector(qtbot, win)
    panel = win.inspector
    panel.inspect()
    idle(qtbot, win)
    qtbot.waitUntil(lambda: panel.state.view is not None, timeout=TIMEOUT)
    model = load_model(model_path).model
    return inspect(model, image_tensor(Image(pixels)), seed=panel.state.inspection.seed)


def view_for(qtbot, panel, *, module, round_, query=None):
    qtbot.waitUntil(
        lambda: panel.state.view is not None and panel.state.view.module == module and panel.state.view.round == round_
        and (query is None or (panel.state.view.query is not None and (panel.state.view.query.y, panel.state.view.query.x) == query)),
        timeout=TIMEOUT,
    )
    return panel.state.view


def test_hint_before_anything(qtbot, window):
    panel = window.inspector
    assert window.inspector_dock.windowTitle() == "Attention inspector"
    assert not window.inspector_dock.isVisible()  # hidden until View > Attention Inspector
    assert window.act_inspector.shortcut().toString() == "Ctrl+I"
    assert window.act_inspector in window.menuBar().actions()[2].menu().actions()  # the View menu
    show_inspector(qtbot, window)
    assert panel.info_label.text() == HINT
    assert not panel.content.isVisible()
    assert not panel.inspect_button.isEnabled()  # nothing to inspect yet
    window.act_inspector.trigger()
    qtbot.waitUntil(lambda: not window.inspector_dock.isVisible() and not panel.state.active, timeout=TIMEOUT)


def test_inspect_shows_the_bucket_map(qtbot, window, tiny_model):
    pixels = smooth_image(H, W)
    expected = inspected(qtbot, window, tiny_model, pixels)
    panel = window.inspector
    assert panel.state.inspection.seed == window.seed_box.value()
    assert panel.module_box.count() == len(expected.modules) == 1
    assert panel.module_box.itemText(0) == "1 (body 0)"
    assert panel.round_box.count() == expected.modules[0].n_hashes == 2
    assert "Inspected 1 sparse-attention module" in window.status_label.text()
    assert panel.content.isVisible() and "42 buckets × 2 rounds, chunk 16" in panel.info_label.text()

    cap = expected.modules[0]
    for r in range(cap.n_hashes):
        panel.set_round(r)
        view = view_for(qtbot, panel, module=0, round_=r)
        item = window.compare.overlays.item("lr")
        assert item is not None and item.getViewBox() is window.compare.view_box("lr")
        assert item.image.shape == (H, W, 4)
        np.testing.assert_array_equal(item.image, colourise_buckets(bucket_map(cap, r), cap.buckets.buckets))
        assert item.mapRectToParent(item.boundingRect()) == QRectF(0, 0, W * 2, H * 2)  # output pixels
        np.testing.assert_array_equal(view.sizes, bucket_sizes(cap, r))
        heights = panel.legend.bars.opts["height"]  # on a log axis
        np.testing.assert_allclose(heights, log_axis(bucket_sizes(cap, r)))
        assert panel.legend.stack.currentWidget() is panel.legend.bars_page

    panel.opacity_slider.setValue(35)
    assert item.opacity() == pytest.approx(0.35)
    panel.set_overlay("none")
    assert not item.isVisible()
    panel.set_overlay("buckets")
    assert item.isVisible()
    assert window.compare.overlays.item("nlsn") is None  # no NLSN panel yet


def test_click_queries_the_pixel(qtbot, window, tiny_model):
    pixels = smooth_image(H, W)
    expected = inspected(qtbot, window, tiny_model, pixels)
    panel = window.inspector
    window.upscale()
    idle(qtbot, window)
    assert "nlsn" in window.compare.panel_keys()
    nlsn_item = window.compare.overlays.item("nlsn")  # re-attached to the new NLSN panel
    assert nlsn_item is not None and nlsn_item.getViewBox() is window.compare.view_box("nlsn")
    np.testing.assert_array_equal(nlsn_item.image, window.compare.overlays.item("lr").image)

    cap = expected.modules[0]
    panel.set_round(1)
    window.compare.pixelClicked.emit("nlsn", 13.7, 9.2)  # output pixels -> LR (y 4, x 6)
    view = view_for(qtbot, panel, module=0, round_=1, query=(4, 6))
    assert panel.state.query == (4, 6)
    q = query_attention(cap, 4, 6)
    dense = dense_attention(cap, 4, 6)
    code = bucket_map(cap, 1)[4, 6]
    assert panel.values["bucket"].text() == str(code)
    assert panel.values["size"].text() == f"{q.bucket_size[1]:,}"
    assert panel.values["attended"].text() == f"{q.attended_count[1]:,}"
    assert panel.values["prob"].text() == f"{q.round_probs[1]:.3f}"
    assert panel.values["entropy"].text() == f"{q.entropy:.2f} nats"
    assert panel.values["nonlocal"].text() == f"{q.nonlocal_share:.0%}"
    assert panel.table.rowCount() == cap.n_hashes
    for r in range(cap.n_hashes):
        assert panel.table.item(r, 1).text() == str(bucket_map(cap, r)[4, 6])
        assert panel.table.item(r, 2).text() == f"{q.bucket_size[r]:,}"
        assert panel.table.item(r, 3).text() == f"{q.round_probs[r]:.3f}"
        assert panel.table.item(r, 4).text() == f"{q.round_weights[r].max():.3g}"
    assert panel.table.selectionModel().selectedRows()[0].row() == 1

    # The two heatmaps: the sparse (combined) and the dense attention of the same query.
    np.testing.assert_allclose(panel.state.view.query.q.combined, q.combined, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(panel.state.view.query.dense, dense, rtol=1e-12, atol=1e-15)
    vmax = max(q.round_weights.max(), dense.max())
    np.testing.assert_array_equal(panel.heatmaps.sparse.heat.image, heatmap_rgba(q.combined, vmax=vmax, **HEAT_SCALE))
    np.testing.assert_array_equal(panel.heatmaps.dense.heat.image, heatmap_rgba(dense, vmax=vmax, **HEAT_SCALE))
    assert f"{q.entropy:.2f}" in panel.heatmaps.sparse.caption.text()
    assert view.query.coverage == pytest.approx(dense[q.attended.any(axis=0)].sum())

    # Every overlay of the query, as the API gives it.
    wanted = {
        "shared": mask_rgba(q.same_bucket[1], SHARED_COLOUR),
        "attended": mask_rgba(q.attended[1], ATTENDED_COLOUR),
        "round": heatmap_rgba(q.round_weights[1], vmax=vmax, **HEAT_SCALE),
        "combined": heatmap_rgba(q.combined, vmax=vmax, **HEAT_SCALE),
        "dense": heatmap_rgba(dense, vmax=vmax, **HEAT_SCALE),
    }
    for key, rgba in wanted.items():
        panel.set_overlay(key)
        for panel_key in ("lr", "nlsn"):
            np.testing.assert_array_equal(window.compare.overlays.item(panel_key).image, rgba)
        assert panel.minimumSizeHint().width() <= 340  # fits the dock: nothing is cut off
    assert panel.legend.stack.currentWidget() is panel.legend.colour_bar  # last one: an attention map
    assert panel.legend.colour_bar.high.text() == f"{view.query.vmax:.3g}"
    assert panel.legend.colour_bar.image.pixmap().width() == 256

    # The marker sits on the LR pixel's block in every panel.
    for key in window.compare.panel_keys():
        square = window.compare.overlays.marker(key).items[1]
        assert square.isVisible() and square.rect() == QRectF(12, 8, 2, 2)

    # A click on the LR panel and on the heatmap view pick pixels too.
    window.compare.pixelClicked.emit("lr", 0.5, 47.9)
    view_for(qtbot, panel, module=0, round_=1, query=(23, 0))
    idle(qtbot, window)


def test_modules_and_rounds(qtbot, window, two_model):
    pixels = smooth_image(H, W, seed=3)
    expected = inspected(qtbot, window, two_model, pixels)
    panel = window.inspector
    assert [panel.module_box.itemText(i) for i in range(panel.module_box.count())] == ["1 (body 0)", "2 (body 9)"]
    assert panel.round_box.count() == 3
    window.compare.pixelClicked.emit("lr", 41.0, 17.0)  # LR (y 8, x 20)
    panel.module_box.setCurrentIndex(1)
    panel.set_round(2)
    view_for(qtbot, panel, module=1, round_=2, query=(8, 20))
    cap = expected.modules[1]
    np.testing.assert_array_equal(window.compare.overlays.item("lr").image, colourise_buckets(bucket_map(cap, 2), 42))
    q = query_attention(cap, 8, 20)
    np.testing.assert_allclose(panel.state.view.query.q.combined, q.combined, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(panel.state.view.query.dense, dense_attention(cap, 8, 20), rtol=1e-12, atol=1e-15)
    assert panel.values["bucket"].text() == str(bucket_map(cap, 2)[8, 20])
    # Selecting a table row selects the round.
    panel.table.selectRow(0)
    view_for(qtbot, panel, module=1, round_=0, query=(8, 20))
    assert panel.round_box.currentIndex() == 0
    idle(qtbot, window)


def test_rehash_with_another_seed(qtbot, window, two_model):
    pixels = smooth_image(H, W, seed=2)
    first = inspected(qtbot, window, two_model, pixels)
    panel = window.inspector
    seed = panel.state.inspection.seed
    assert not panel.change_label.isVisible()
    panel.rehash()
    idle(qtbot, window)
    qtbot.waitUntil(lambda: panel.state.inspection.seed == seed + 1 and panel.state.view is not None
                    and panel.state.view.change is not None, timeout=TIMEOUT)
    idle(qtbot, window)
    assert panel.seed_box.value() == seed + 1
    second = inspect(load_model(two_model).model, image_tensor(Image(pixels)), seed=seed + 1)
    before, after = bucket_map(first.modules[0], 0), bucket_map(second.modules[0], 0)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(window.compare.overlays.item("lr").image, colourise_buckets(after, 42))
    change = bucket_changes(before, after)
    assert panel.state.view.change == change and change.changed > 0
    assert panel.change_label.isVisible()
    assert f"Seed {seed} → {seed + 1}: {change.changed:,} of {H * W:,} pixels" in panel.change_label.text()


def test_export_png(qtbot, window, tiny_model, tmp_path):
    inspected(qtbot, window, tiny_model, smooth_image(H, W))
    panel = window.inspector
    window.compare.pixelClicked.emit("lr", 20.0, 20.0)
    qtbot.waitUntil(lambda: panel.state.view is not None and panel.state.view.query is not None, timeout=TIMEOUT)
    idle(qtbot, window)
    out = tmp_path / "view.png"
    assert panel.export_png(out)
    exported = load_image(out).pixels
    assert exported.shape == (H, W, 3)  # the LR image's own resolution, not a grab of the widgets
    from core.inspection.colours import composite

    want = composite(window.doc.displays["lr"], panel.state.overlay_rgba(panel.overlay_key()),
                     opacity=panel.opacity_slider.value() / 100, mark=panel.state.query)
    assert np.array_equal(exported, want)
    y, x = panel.state.query
    assert tuple(exported[y, x + 4]) == (0, 255, 255)  # the query pixel is marked
    assert f"Exported {out}" in window.status_label.text()
    assert panel.export_name().endswith(f"_{panel.overlay_key()}_module1_round1.png")
    assert not list(tmp_path.glob(".*.part"))


def test_new_image_and_hiding_clear_the_overlay(qtbot, window, tiny_model):
    inspected(qtbot, window, tiny_model, smooth_image(H, W))
    panel = window.inspector
    vb = window.compare.view_box("lr")
    item = window.compare.overlays.item("lr")
    assert item.parentItem() is vb.childGroup

    window.act_inspector.trigger()  # hide: overlays and markers leave the compare view
    qtbot.waitUntil(lambda: not panel.state.active, timeout=TIMEOUT)
    assert item.parentItem() is None and window.compare.overlays.item("lr") is None
    assert len(vb.childGroup.childItems()) == 1  # the LR image only: no marker left either
    window.compare.pixelClicked.emit("lr", 3.0, 3.0)  # ignored while hidden
    assert panel.state.query is None
    show_inspector(qtbot, window)
    assert window.compare.overlays.item("lr").parentItem() is vb.childGroup

    window.open_image(Image(smooth_image(20, 22, seed=9)), name="other.png")
    idle(qtbot, window)
    assert panel.state.inspection is None and panel.state.view is None and panel.state.query is None
    assert window.compare.overlays.item("lr") is None
    assert window.compare.view_box("lr").childGroup.childItems() == [window.compare.image_item("lr")]
    assert panel.info_label.text() == READY_HINT and not panel.content.isVisible()  # an image is open
    assert panel.inspect_button.isEnabled()


def test_main_cancel_stops_the_inspection(qtbot, window, tiny_model):
    open_with_model(qtbot, window, tiny_model, smooth_image(H, W))
    show_inspector(qtbot, window)
    panel = window.inspector
    started = threading.Event()

    def blocker(ctx):  # holds the worker until cancelled, so the inspection waits in the queue
        started.set()
        while not ctx.cancelled():
            threading.Event().wait(0.005)
        ctx.check()

    block_id = window.worker.submit("block", blocker)  # not a window job: Cancel leaves it alone
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT)
    panel.inspect()
    assert not panel.inspect_button.isEnabled() and panel.inspect_button.text() == "Inspecting…"
    window.cancel()
    window.worker.cancel(block_id)
    idle(qtbot, window)
    assert window.status_label.text() == "Cancelled"
    assert panel.state.inspection is None and panel.inspect_button.isEnabled()
    assert panel.info_label.text() == READY_HINT


def test_missing_model_is_reported(qtbot, window, tmp_path):
    window.open_image(Image(smooth_image(H, W)), name="smooth.png")
    idle(qtbot, window)
    show_inspector(qtbot, window)
    window.models.user.clear()
    window.model_box.clear()
    window.model_box.addItem("none", "__open__")
    window.inspector.inspect()
    assert window.status_label.text().startswith("Error: no x2 model is selected")
    assert window.inspector.state.inspection is None


def test_shortcut_toggles_the_dock(qtbot, window):
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.inspector_dock.isVisible(), timeout=TIMEOUT)


def test_heatmaps_fit_the_map_when_the_dock_grows_a_scroll_bar(qtbot, tmp_path):
    """With the bundled model (four rounds, three modules) the first query makes the dock taller
    than the window: its scroll bar narrows the maps just after they were fitted, and they fit
    the whole map again (they showed a range far too wide before); a zoom of the user's is kept."""
    from core.checkpoints import resolve_model
    from tests.gui.qt.helpers import make_window

    win = make_window(qtbot, tmp_path, name="big.ini", size=(1600, 1000))
    try:
        win.open_model(resolve_model(None, scale=2))
        idle(qtbot, win)
        win.mode_box.setCurrentIndex(win.mode_box.findData("simulate"))
        win.open_image(Image(smooth_image(256, 384)), name="big.png")
        idle(qtbot, win)
        win.upscale()
        idle(qtbot, win)
        show_inspector(qtbot, win)
        panel = win.inspector
        panel.inspect()
        idle(qtbot, win)
        qtbot.waitUntil(lambda: panel.state.view is not None, timeout=TIMEOUT)
        win.compare.pixelClicked.emit("lr", 140.0, 70.0)
        view_for(qtbot, panel, module=0, round_=0, query=(35, 70))
        vb = panel.heatmaps.sparse.vb

        def fits() -> bool:
            (x0, x1), (y0, y1) = vb.viewRange()
            return (abs(x0) < 0.5 and abs(x1 - 192) < 0.5) or (abs(y0) < 0.5 and abs(y1 - 128) < 0.5)

        qtbot.waitUntil(fits, timeout=TIMEOUT)
        vb.scaleBy((0.5, 0.5))  # the user zooms in: kept through a resize
        vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])
        size = panel.heatmaps.size()
        panel.heatmaps.resize(size.width() - 40, size.height())
        qtbot.wait(50)
        assert vb.viewRange()[0][1] - vb.viewRange()[0][0] < 0.75 * 192
    finally:
        win.worker.shutdown()
