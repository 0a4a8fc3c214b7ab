"""CompareView (nlsn_gui/compare.py), offscreen: layout, linked zoom/pan, swipe, cursor, clicks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from nlsn_gui.qt.compare import CompareView, CursorInfo, Panel, choose_grid  # noqa: E402


# --------------------------------------------------------------------------- helpers

SCALE = 2
OUT_H, OUT_W = 12, 16  # output (SR/HR) size
LR_H, LR_W = OUT_H // SCALE, OUT_W // SCALE


def _rgb(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)  # (h, w, 3)


@pytest.fixture()
def arrays() -> dict[str, np.ndarray]:
    return {
        "lr": _rgb(LR_H, LR_W, 1),  # (6, 8, 3)
        "bicubic": _rgb(OUT_H, OUT_W, 2),  # (12, 16, 3)
        "nlsn": _rgb(OUT_H, OUT_W, 3),
        "hr": _rgb(OUT_H, OUT_W, 4),
    }


def _panels(arrays: dict[str, np.ndarray]) -> list[Panel]:
    return [
        Panel("lr", "LR (nearest)", arrays["lr"], scale=SCALE),
        Panel("bicubic", "Bicubic", arrays["bicubic"], subtitle="PSNR 20.00 dB"),
        Panel("nlsn", "NLSN", arrays["nlsn"], subtitle="PSNR 30.00 dB · SSIM 0.9000"),
        Panel("hr", "HR", arrays["hr"]),
    ]


@pytest.fixture()
def view(qtbot):
    import pyqtgraph as pg

    # pyqtgraph drops mouse moves closer than 10 ms apart; QTest sends them back to back.
    old_rate = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", -1)
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(1000, 500)
    v.show()
    qtbot.waitExposed(v)
    yield v
    pg.setConfigOption("mouseRateLimit", old_rate)


@pytest.fixture()
def loaded(qtbot, view, arrays) -> CompareView:
    view.set_panels(_panels(arrays))
    qtbot.waitUntil(lambda: view.graphics_widget().isVisible())
    return view


def _placed_view_boxes(v: CompareView) -> list:
    return [v.view_box(k) for k in v.panel_keys() if v.view_box(k).scene() is not None]


def _viewport_pos(v: CompareView, key: str, x: float, y: float) -> QPoint:
    """Viewport widget coordinates of output pixel point (x, y) in a panel."""
    glw = v.graphics_widget()
    return glw.mapFromScene(v.scene_pos_of(key, x, y))


def _ranges_close(a, b, tol: float = 1e-6) -> bool:
    return all(abs(p - q) <= tol * max(1.0, abs(p)) for ra, rb in zip(a, b) for p, q in zip(ra, rb))


# --------------------------------------------------------------------------- tests


def test_import_creates_no_qapplication():
    code = (
        "import nlsn_gui.qt.compare as c\n"
        "from PySide6.QtWidgets import QApplication\n"
        "assert QApplication.instance() is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ok" in out.stdout, out.stderr


def test_choose_grid_wide_square_tall():
    # Four 4:3 panels.
    assert choose_grid(4, 2000, 400, 160, 120) == (1, 4)  # wide window: one row
    assert choose_grid(4, 800, 800, 160, 120) == (2, 2)  # square window: 2 x 2
    assert choose_grid(4, 400, 2000, 160, 120) == (4, 1)  # tall window: one column
    assert choose_grid(3, 800, 800, 160, 120) == (3, 1)  # a full grid, its images 89 % of a 2 x 2's
    assert choose_grid(3, 1380, 700, 384, 256) == (1, 3)  # not a 2 x 2 with an empty quadrant
    assert choose_grid(3, 600, 1000, 300, 100) == (3, 1)
    assert choose_grid(3, 1000, 1000, 100, 100) == (2, 2)  # a full grid would be 67 %: the hole is worth it
    assert choose_grid(1, 10, 10, 5, 5) == (1, 1)
    assert choose_grid(0, 10, 10, 5, 5) == (0, 0)


def test_placeholder_then_panels_then_clear(qtbot, view, arrays):
    assert view.panel_keys() == []
    assert view.placeholder_text() is not None
    assert "Ctrl+O" in view.placeholder_text()
    view.set_placeholder("Drop something")
    assert view.placeholder_text() == "Drop something"

    view.set_panels(_panels(arrays))
    assert view.panel_keys() == ["lr", "bicubic", "nlsn", "hr"]
    assert view.placeholder_text() is None

    view.clear()
    assert view.panel_keys() == []
    assert view.placeholder_text() == "Drop something"
    assert view.cursor_info_at(1, 1) is None


def test_four_panels_linked_and_lr_stretched(qtbot, loaded, arrays):
    v = loaded
    vbs = _placed_view_boxes(v)
    assert len(vbs) == 4
    assert len({id(vb) for vb in vbs}) == 4
    for vb in vbs:
        assert vb.state["aspectLocked"]
        assert vb.yInverted()
        assert vb.menu is None  # no context menu

    # The LR image item covers the output-size canvas.
    lr_item = v.image_item("lr")
    assert lr_item.axisOrder == "row-major"
    assert lr_item.mapRectToParent(lr_item.boundingRect()) == QRectF(0, 0, OUT_W, OUT_H)
    hr_item = v.image_item("hr")
    assert hr_item.mapRectToParent(hr_item.boundingRect()) == QRectF(0, 0, OUT_W, OUT_H)
    assert v.image_item("lr").levels is not None and tuple(v.image_item("lr").levels) == (0, 255)

    # Panning/zooming any panel moves all of them (also a non-master one).
    v.view_box("nlsn").setRange(xRange=(3, 7), yRange=(2, 5), padding=0)
    ref = v.view_box("nlsn").viewRange()
    qtbot.waitUntil(lambda: all(_ranges_close(vb.viewRange(), ref) for vb in vbs))
    v.view_box("lr").setRange(xRange=(1, 4), yRange=(1, 3), padding=0)
    ref = v.view_box("lr").viewRange()
    qtbot.waitUntil(lambda: all(_ranges_close(vb.viewRange(), ref) for vb in vbs))
    assert _ranges_close(v.view_range(), [tuple(r) for r in ref])


def test_zoom_fit_and_set_zoom(qtbot, loaded):
    v = loaded
    v.zoom_fit()
    (x0, x1), (y0, y1) = v.view_range()
    assert x0 <= 0 and x1 >= OUT_W and y0 <= 0 and y1 >= OUT_H  # whole image visible
    assert min(x1 - x0 - OUT_W, y1 - y0 - OUT_H) < 0.05 * OUT_W  # and it fills one direction

    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    with qtbot.waitSignal(v.zoomChanged, timeout=5000) as sig:
        v.set_zoom(400)
    assert v.zoom() == pytest.approx(400, rel=1e-3)
    assert sig.args[0] == pytest.approx(400, rel=1e-3)
    # zoom() agrees with pyqtgraph's own pixel size; every panel has the same zoom.
    for vb in _placed_view_boxes(v):
        assert 100.0 / vb.viewPixelSize()[0] == pytest.approx(400, rel=1e-3)
    (x0, x1), (y0, y1) = v.view_range()
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx(centre, abs=1e-6)
    qtbot.waitUntil(lambda: v.toolbar.zoom_label.text() == "400%")

    # Toolbar buttons.
    button = next(b for b in v.toolbar.zoom_buttons if b.text() == "800%")
    button.click()
    assert v.zoom() == pytest.approx(800, rel=1e-3)
    next(b for b in v.toolbar.zoom_buttons if b.text() == "Fit").click()
    (x0, x1), (y0, y1) = v.view_range()
    assert x0 <= 0 and x1 >= OUT_W and y0 <= 0 and y1 >= OUT_H


def test_set_view_range_and_keep_view(qtbot, loaded, arrays):
    v = loaded
    v.set_view_range((2, 10), (3, 9))
    (x0, x1), (y0, y1) = v.view_range()
    assert x0 <= 2 + 1e-6 and x1 >= 10 - 1e-6 and y0 <= 3 + 1e-6 and y1 >= 9 - 1e-6
    before = v.view_range()
    v.set_panels(_panels(arrays), keep_view=True)
    assert _ranges_close(v.view_range(), before, tol=1e-3)
    v.set_panels(_panels(arrays))  # fits again
    (x0, x1), (y0, y1) = v.view_range()
    assert x0 <= 0 and x1 >= OUT_W and y0 <= 0 and y1 >= OUT_H


def test_hide_panel_relayouts_and_keeps_view(qtbot, loaded):
    v = loaded
    v.set_zoom(300)
    before = v.view_range()
    hr_vb = v.view_box("hr")
    v.set_panel_visible("hr", False)
    assert v.visible_keys() == ["lr", "bicubic", "nlsn"]
    assert hr_vb.scene() is None
    assert len(_placed_view_boxes(v)) == 3
    assert not v.toolbar.checks["hr"].isChecked()
    rows, cols = v.grid_shape()
    assert rows * cols >= 3 and (rows - 1) * cols < 3
    (x0, x1), (y0, y1) = v.view_range()
    bx, by = (before[0][0] + before[0][1]) / 2, (before[1][0] + before[1][1]) / 2
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((bx, by), abs=0.5)  # same place

    # Via the check box, and the hidden one comes back linked.
    v.toolbar.checks["hr"].setChecked(True)
    assert v.visible_keys() == ["lr", "bicubic", "nlsn", "hr"]
    assert len(_placed_view_boxes(v)) == 4
    v.view_box("lr").setRange(xRange=(0, 5), yRange=(0, 4), padding=0)
    qtbot.waitUntil(lambda: _ranges_close(v.view_box("hr").viewRange(), v.view_box("lr").viewRange()))

    # Hiding the first panel moves the "master" role on; links keep working.
    v.set_panel_visible("lr", False)
    v.view_box("hr").setRange(xRange=(4, 9), yRange=(4, 8), padding=0)
    ref = v.view_box("hr").viewRange()
    qtbot.waitUntil(lambda: all(_ranges_close(vb.viewRange(), ref) for vb in _placed_view_boxes(v)))

    # Everything hidden: a hint instead of an empty canvas, no crash.
    for k in ("bicubic", "nlsn", "hr"):
        v.set_panel_visible(k, False)
    assert v.placeholder_text() is not None
    v.set_panel_visible("nlsn", True)
    assert v.placeholder_text() is None


def test_grid_follows_widget_shape(qtbot, loaded):
    v = loaded
    v.resize(1800, 320)
    qtbot.waitUntil(lambda: v.grid_shape() == (1, 4), timeout=5000)
    v.resize(720, 760)
    qtbot.waitUntil(lambda: v.grid_shape() == (2, 2), timeout=5000)
    v.resize(260, 1200)
    qtbot.waitUntil(lambda: v.grid_shape() == (4, 1), timeout=5000)
    # Cells are equal: all view boxes have the same size.
    sizes = {(round(vb.width()), round(vb.height())) for vb in _placed_view_boxes(v)}
    assert len(sizes) == 1


def test_cursor_info_values(qtbot, loaded, arrays):
    v = loaded
    info = v.cursor_info_at(5.5, 3.2)
    assert isinstance(info, CursorInfo)
    assert (info.x, info.y) == (5, 3)
    assert info.values["lr"] == tuple(int(c) for c in arrays["lr"][3 // SCALE, 5 // SCALE])
    for k in ("bicubic", "nlsn", "hr"):
        assert info.values[k] == tuple(int(c) for c in arrays[k][3, 5])
    assert list(info.values) == ["lr", "bicubic", "nlsn", "hr"]
    text = info.text()
    assert text.startswith("x 5  y 3 │ LR (2, 1) ")
    assert "│ NLSN " in text and "│ HR " in text
    assert v.cursor_info_at(-1, 2) is None
    assert v.cursor_info_at(OUT_W, 2) is None
    # Hidden panels are not reported.
    v.set_panel_visible("bicubic", False)
    assert "bicubic" not in v.cursor_info_at(1, 1).values


def test_cursor_follows_real_mouse(qtbot, loaded, arrays):
    v = loaded
    viewport = v.graphics_widget().viewport()
    pos = _viewport_pos(v, "nlsn", 9.5, 4.5)
    with qtbot.waitSignal(v.cursorMoved, timeout=5000) as sig:
        QTest.mouseMove(viewport, pos)
    info = sig.args[0]
    assert info is not None and (info.x, info.y) == (9, 4)
    assert info.key == "nlsn"
    assert info.values["nlsn"] == tuple(int(c) for c in arrays["nlsn"][4, 9])
    assert info.values["lr"] == tuple(int(c) for c in arrays["lr"][2, 4])
    assert v._readout.text() == info.text()

    # Over the LR panel the coordinates are output coordinates too.
    with qtbot.waitSignal(v.cursorMoved, timeout=5000) as sig:
        QTest.mouseMove(viewport, _viewport_pos(v, "lr", 3.5, 7.5))
    assert sig.args[0].key == "lr" and (sig.args[0].x, sig.args[0].y) == (3, 7)

    # Outside every image (the margin of the graphics view) -> None, once.
    with qtbot.waitSignal(v.cursorMoved, timeout=5000) as sig:
        QTest.mouseMove(viewport, QPoint(1, 1))
    assert sig.args[0] is None
    assert v._readout.text() == ""


def test_pixel_clicked_and_drag_pans(qtbot, loaded):
    v = loaded
    v.set_zoom(1000)
    v.set_view_range((4, 12), (2, 8))
    viewport = v.graphics_widget().viewport()
    pos = _viewport_pos(v, "hr", 7.3, 5.6)
    with qtbot.waitSignal(v.pixelClicked, timeout=5000) as sig:
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    key, x, y = sig.args
    px = 1.0 / (v.zoom() / 100.0)  # one screen pixel in output pixels
    assert key == "hr"
    assert x == pytest.approx(7.3, abs=px + 1e-6) and y == pytest.approx(5.6, abs=px + 1e-6)

    # LR panel: still output coordinates.
    with qtbot.waitSignal(v.pixelClicked, timeout=5000) as sig:
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         _viewport_pos(v, "lr", 9.2, 3.1))
    assert sig.args[0] == "lr" and sig.args[1] == pytest.approx(9.2, abs=px + 1e-6)

    # A drag pans all panels and is not a click.
    clicks = []
    v.pixelClicked.connect(lambda *a: clicks.append(a))
    before, zoom_before = v.view_range(), v.zoom()
    start = _viewport_pos(v, "nlsn", 8, 5)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dx in (10, 20, 40, 60):
        QTest.mouseMove(viewport, start + QPoint(dx, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(60, 0))
    qtbot.waitUntil(lambda: v.view_range()[0][0] < before[0][0] - 1.0, timeout=5000)
    assert v.zoom() == pytest.approx(zoom_before, rel=1e-3)  # panned, not zoomed
    assert clicks == []
    for k in ("lr", "bicubic", "hr"):
        assert _ranges_close(v.view_box(k).viewRange(), v.view_box("nlsn").viewRange())
    assert not v._fit_mode


def _wheel(viewport, pos: QPoint, delta: int) -> None:
    ev = QWheelEvent(QPointF(pos), QPointF(viewport.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, ev)


def test_wheel_zooms_all_panels(qtbot, loaded):
    v = loaded
    z0 = v.zoom()
    viewport = v.graphics_widget().viewport()
    with qtbot.waitSignal(v.zoomChanged, timeout=5000):
        _wheel(viewport, _viewport_pos(v, "bicubic", 8, 6), 240)
    assert v.zoom() > z0 * 1.1
    ref = v.view_box("bicubic").viewRange()
    for vb in _placed_view_boxes(v):
        assert _ranges_close(vb.viewRange(), ref)


def test_swipe_mode_crops_right_image(qtbot, loaded, arrays):
    v = loaded
    v.set_mode("swipe")
    assert v.mode() == "swipe"
    assert v.grid_shape() == (1, 1)
    assert v.swipe_pair() == ("bicubic", "nlsn")  # default pair
    assert v.toolbar.swipe_choices_shown()
    assert all(v.view_box(k).scene() is None for k in v.panel_keys())
    assert v.swipe_view_box().scene() is not None

    right = v.swipe_right_item()
    v.set_swipe_position(0.5)  # x = 8
    assert right.isVisible()
    np.testing.assert_array_equal(right.image, arrays["nlsn"][:, 8:])
    assert right.mapRectToParent(right.boundingRect()) == QRectF(8, 0, 8, OUT_H)
    assert v._swipe.title_left.text().startswith("◀ Bicubic")
    assert v._swipe.title_right.text().startswith("NLSN ▶")

    # LR on the right: cropped in its own pixels, placed in output coordinates.
    v.set_swipe_pair("nlsn", "lr")
    assert (v.toolbar.combo_left.currentData(), v.toolbar.combo_right.currentData()) == ("nlsn", "lr")
    v.set_swipe_position(0.25)  # x = 4 -> LR column 2
    np.testing.assert_array_equal(right.image, arrays["lr"][:, 2:])
    assert right.mapRectToParent(right.boundingRect()) == QRectF(4, 0, OUT_W - 4, OUT_H)
    left = v._swipe.left
    assert left.mapRectToParent(left.boundingRect()) == QRectF(0, 0, OUT_W, OUT_H)

    # Clamped at the edges.
    v.set_swipe_position(1.5)
    assert v.swipe_position() == 1.0 and not right.isVisible()
    v.set_swipe_position(-1)
    assert right.isVisible()
    np.testing.assert_array_equal(right.image, arrays["lr"])

    # Dragging the line moves the crop.
    v.set_swipe_position(0.5)
    line = v._swipe.line
    line.setValue(12.0)  # what a drag does
    assert right.mapRectToParent(right.boundingRect()).left() == pytest.approx(12)

    # Cursor / clicks report the side under the mouse; zoom works in swipe mode.
    info = v.cursor_info_at(3, 3)
    assert set(info.values) == {"nlsn", "lr"}
    v.set_zoom(250)
    assert v.zoom() == pytest.approx(250, rel=1e-3)
    v.zoom_fit()
    viewport = v.graphics_widget().viewport()
    with qtbot.waitSignal(v.pixelClicked, timeout=5000) as sig:
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         _viewport_pos(v, "lr", 14.5, 2.5))
    assert sig.args[0] == "lr"
    with qtbot.waitSignal(v.pixelClicked, timeout=5000) as sig:
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         _viewport_pos(v, "nlsn", 2.5, 2.5))
    assert sig.args[0] == "nlsn"

    # Wheel zoom works in the swipe view; dragging the divider moves it (and does not pan).
    v.set_swipe_position(0.5)
    z0 = v.zoom()
    with qtbot.waitSignal(v.zoomChanged, timeout=5000):
        _wheel(viewport, _viewport_pos(v, "nlsn", 8, 6), 120)
    assert v.zoom() > z0 * 1.05
    v.zoom_fit()
    before = v.view_range()
    start = _viewport_pos(v, "nlsn", 8, 6)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dx in (-5, -10, -20, -40):
        QTest.mouseMove(viewport, start + QPoint(dx, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(-40, 0))
    qtbot.waitUntil(lambda: v.swipe_position() < 0.45, timeout=5000)
    assert _ranges_close(v.view_range(), before)
    crop_x = right.mapRectToParent(right.boundingRect()).left()
    assert crop_x == pytest.approx(round(v.swipe_position() * OUT_W / SCALE) * SCALE)

    # Back to side by side: same panels, same region of the image (centre kept).
    v.set_zoom(300)
    (x0, x1), (y0, y1) = v.view_range()
    v.set_mode("side")
    assert len(_placed_view_boxes(v)) == 4
    (a0, a1), (b0, b1) = v.view_range()
    assert ((a0 + a1) / 2, (b0 + b1) / 2) == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2), abs=1e-3)
    assert a0 <= x0 + 1e-3 and a1 >= x1 - 1e-3 and b0 <= y0 + 1e-3 and b1 >= y1 - 1e-3
    with pytest.raises(ValueError):
        v.set_mode("diagonal")


def test_diff_panel_colour_map(qtbot, view, arrays):
    diff = np.zeros((OUT_H, OUT_W), np.float32)  # (h, w) float32
    diff[2, 3] = 0.25
    diff[5, 5] = 0.5
    panels = _panels(arrays) + [Panel("diff", "|NLSN − HR|", diff, colour_map="inferno")]
    view.set_panels(panels)
    item = view.image_item("diff")
    assert item.lut is not None and len(item.lut) == 256
    assert tuple(item.levels) == pytest.approx((0.0, 0.5))
    info = view.cursor_info_at(3, 2)
    assert info.values["diff"] == (pytest.approx(0.25),)
    assert "|NLSN − HR| 0.25" in info.text()
    # An all-zero diff map must not give degenerate levels.
    view.update_panel("diff", np.zeros((OUT_H, OUT_W), np.float32))
    lo, hi = item.levels
    assert lo == 0 and hi > 0
    # It can be the right side of the swipe too.
    view.set_mode("swipe")
    view.set_swipe_pair("nlsn", "diff")
    assert view.swipe_right_item().lut is not None


def test_update_and_remove_panel(qtbot, loaded, arrays):
    v = loaded
    new = np.full((OUT_H, OUT_W, 3), 7, np.uint8)
    v.update_panel("nlsn", new, subtitle="PSNR 99.00 dB")
    assert v.image_item("nlsn").image is new or np.array_equal(v.image_item("nlsn").image, new)
    assert v.cursor_info_at(0, 0).values["nlsn"] == (7, 7, 7)
    assert v._slots["nlsn"].title.text() == "NLSN  PSNR 99.00 dB"
    v.update_panel("lr", np.zeros((LR_H, LR_W, 3), np.uint8))
    lr_item = v.image_item("lr")
    assert lr_item.mapRectToParent(lr_item.boundingRect()) == QRectF(0, 0, OUT_W, OUT_H)

    # In swipe mode the shown images follow.
    v.set_mode("swipe")
    v.set_swipe_position(0)
    v.update_panel("nlsn", np.full((OUT_H, OUT_W, 3), 9, np.uint8))
    assert int(v.swipe_right_item().image[0, 0, 0]) == 9

    v.remove_panel("nlsn")
    assert v.panel_keys() == ["lr", "bicubic", "hr"]
    assert v.swipe_pair() is not None and "nlsn" not in v.swipe_pair()
    assert [v.toolbar.combo_right.itemData(i) for i in range(v.toolbar.combo_right.count())] == ["lr", "bicubic", "hr"]
    with pytest.raises(KeyError):
        v.view_box("nlsn")
    with pytest.raises(KeyError):
        v.set_swipe_pair("nlsn", "hr")
    v.set_mode("side")
    assert len(_placed_view_boxes(v)) == 3


def test_view_box_overlays_survive_set_panels(qtbot, loaded, arrays):
    import pyqtgraph as pg

    v = loaded
    marker = pg.ScatterPlotItem(x=[3], y=[4])
    v.view_box("nlsn").addItem(marker)
    v.set_panels(_panels(arrays), keep_view=True)
    assert marker.getViewBox() is v.view_box("nlsn")


def test_rgba_and_one_pixel_images(qtbot, view):
    rgba = np.zeros((5, 7, 4), np.uint8)  # (h, w, 4)
    rgba[..., 0] = 200
    rgba[..., 3] = np.linspace(0, 255, 7, dtype=np.uint8)
    one = np.array([[[10, 20, 30]]], np.uint8)  # (1, 1, 3)
    view.set_panels([Panel("a", "RGBA", rgba), Panel("b", "one", one, scale=7)])
    qtbot.waitUntil(lambda: view.graphics_widget().isVisible())
    view.zoom_fit()
    view.set_zoom(800)
    img = view.grab_image()
    assert not img.isNull() and img.width() > 0
    info = view.cursor_info_at(6.9, 0.1)
    assert info.values["a"] == (200, 0, 0, 255)
    assert info.values["b"] == (10, 20, 30)
    assert "(0, 0)" in info.text()

    view.set_panels([Panel("x", "1x1", one)])
    view.zoom_fit()
    view.set_mode("swipe")
    view.set_swipe_position(0.3)
    assert not view.grab_image().isNull()
    assert view.cursor_info_at(0.5, 0.5).values["x"] == (10, 20, 30)

    with pytest.raises(ValueError):
        view.set_panels([Panel("bad", "bad", np.zeros((4, 4, 2), np.uint8))])
    with pytest.raises(ValueError):
        view.set_panels([Panel("a", "a", one), Panel("a", "a", one)])


def test_nearest_neighbour_rendering(qtbot, view):
    """At high zoom each image pixel is an exact block of one colour (no smoothing)."""
    colours = np.array([[[255, 0, 0], [0, 0, 255]], [[0, 255, 0], [255, 255, 255]]], np.uint8)  # (2, 2, 3)
    view.set_panels([Panel("p", "P", colours)])
    view.set_zoom(5000)
    view.set_view_range((0, 2), (0, 2))
    qtbot.waitUntil(lambda: view.zoom() > 1000)
    vp = view.graphics_widget().viewport()
    img = vp.grab().toImage()
    for j in range(2):
        for i in range(2):
            for fx, fy in ((0.06, 0.06), (0.94, 0.94), (0.5, 0.5), (0.94, 0.06)):
                p = _viewport_pos(view, "p", i + fx, j + fy)
                c = QColor(img.pixel(p.x(), p.y()))
                assert (c.red(), c.green(), c.blue()) == tuple(int(x) for x in colours[j, i]), (i, j, fx, fy)


def test_toolbar_mode_and_combos(qtbot, loaded):
    v = loaded
    assert not v.toolbar.swipe_choices_shown()
    v.toolbar.swipe_button.click()
    assert v.mode() == "swipe" and v.toolbar.swipe_choices_shown()
    idx = v.toolbar.combo_left.findData("hr")
    v.toolbar.combo_left.setCurrentIndex(idx)
    v.toolbar.combo_left.activated.emit(idx)
    assert v.swipe_pair()[0] == "hr"
    v.toolbar.side_button.click()
    assert v.mode() == "side" and not v.toolbar.swipe_choices_shown()
    assert [c.text() for c in v.toolbar.checks.values()] == ["LR (nearest)", "Bicubic", "NLSN", "HR"]
