"""The main window, driven as a user would (offscreen): open, upscale, compare, save, batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableWidget  # noqa: E402

from core.checkpoints import load_model, save_model  # noqa: E402
from core.image import Image, load_image  # noqa: E402
from core.inference import Upscaler  # noqa: E402
from core.network import NLSN, preset  # noqa: E402
from core.eval.compare import simulate_lr  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402
from tests.gui.qt import helpers  # noqa: E402
from tests.gui.qt.helpers import TIMEOUT, idle, use_model  # noqa: E402

def test_open_upscale_compare_save(qtbot, window, tiny_model, tmp_path):
    src = tmp_path / "photo.png"
    pixels = smooth_image(20, 24)
    PILImage.fromarray(pixels).save(src)
    use_model(qtbot, window, tiny_model)
    window.open_path(src)
    idle(qtbot, window)
    assert window.doc.name == "photo.png"
    assert window.compare.panel_keys() == ["lr", "bicubic"]
    assert str(src) in window.recent_files()

    window.upscale()
    idle(qtbot, window)
    assert window.compare.panel_keys() == ["lr", "bicubic", "nlsn"]
    expected = Upscaler(load_model(tiny_model).model, device="cpu")
    want = expected.upscale_image(Image(pixels), seed=window.seed_box.value()).pixels
    assert np.array_equal(window.doc.comparison.sr.pixels, want)
    assert "NLSN ×2" in window.status_label.text()

    out = tmp_path / "saved.png"
    window.save(out)
    idle(qtbot, window)
    assert np.array_equal(load_image(out).pixels, want)
    assert "Saved" in window.status_label.text()


def test_memory_goes_back_once_the_worker_is_idle(qtbot, window, tiny_model, tmp_path, monkeypatch):
    """Jobs keep freed memory for the next job (core/allocator.py); an idle app gives it back."""
    import nlsn_gui.qt.worker as worker_module

    released = []
    real = worker_module.release_free_memory
    monkeypatch.setattr(worker_module, "release_free_memory", lambda: released.append(1) or real())
    window.worker._idle.setInterval(200)
    src = tmp_path / "photo.png"
    PILImage.fromarray(smooth_image(20, 24)).save(src)
    use_model(qtbot, window, tiny_model)
    window.open_path(src)
    idle(qtbot, window)
    window.upscale()
    assert window.worker.busy and not window.worker._idle.isActive()  # never while a job is queued
    idle(qtbot, window)
    qtbot.waitUntil(lambda: len(released) == 1, timeout=TIMEOUT)


def test_changing_the_scale_refits_the_views(qtbot, window, tmp_path):
    """A kept zoom would show only a corner of the larger output: a new scale fits it whole."""
    src = tmp_path / "photo.png"
    PILImage.fromarray(smooth_image(20, 24)).save(src)
    window.open_path(src)
    idle(qtbot, window)
    window.compare.set_zoom(800)
    assert window.compare.zoom() == pytest.approx(800, rel=0.05)
    window.scale_box.setCurrentIndex(window.scale_box.findData(4))
    idle(qtbot, window)
    assert window.doc.comparison.scale == 4
    (x0, x1), (y0, y1) = window.compare._active_vb().viewRange()
    w, h = window.compare.extent()
    assert (w, h) == (24 * 4, 20 * 4)
    assert x0 <= 0 and x1 >= w and y0 <= 0 and y1 >= h


def test_simulate_mode_scores_against_the_truth(qtbot, window, tiny_model, tmp_path):
    src = tmp_path / "truth.png"
    PILImage.fromarray(smooth_image(40, 44)).save(src)
    use_model(qtbot, window, tiny_model)
    window.mode_box.setCurrentIndex(window.mode_box.findData("simulate"))
    window.open_path(src)
    idle(qtbot, window)
    assert window.compare.panel_keys() == ["lr", "bicubic", "hr"]
    lr, hr = simulate_lr(load_image(src), 2)
    assert np.array_equal(window.doc.comparison.lr.pixels, lr.pixels)
    window.upscale()
    idle(qtbot, window)
    assert window.compare.panel_keys() == ["lr", "bicubic", "nlsn", "hr", "diff"]
    assert "PSNR" in window.status_label.text() and "over bicubic" in window.status_label.text()


def test_paste_and_bad_files_give_messages(qtbot, window, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    window.open_path(bad)
    idle(qtbot, window)
    assert window.status_label.text().startswith("Error:") and "broken.png" in window.status_label.text()
    assert window.doc is None

    qimage = QImage(16, 12, QImage.Format_RGB32)
    qimage.fill(0xFF336699)
    QApplication.clipboard().setImage(qimage)
    window.paste()
    idle(qtbot, window)
    assert window.doc is not None and window.doc.image.pixels.shape == (12, 16, 3)
    assert tuple(window.doc.image.pixels[0, 0]) == (0x33, 0x66, 0x99)

    bad_model = tmp_path / "evil.pt"
    bad_model.write_bytes(b"not a checkpoint")
    window.open_model(bad_model)
    idle(qtbot, window)
    assert "evil.pt" in window.status_label.text() and window.status_label.text().startswith("Error:")


def test_cancel_stops_a_long_upscale(qtbot, window, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "light-x2.safetensors"
    save_model(path, NLSN(preset("light", scale=2)))
    use_model(qtbot, window, path)
    window.open_image(Image(smooth_image(200, 200)), name="big")
    idle(qtbot, window)
    window.upscale()
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=TIMEOUT)
    import time

    start = time.perf_counter()
    window.cancel()
    idle(qtbot, window)
    assert time.perf_counter() - start < 1.5
    assert window.status_label.text() == "Cancelled"
    assert window.doc.comparison.sr is None


def test_settings_are_kept(qtbot, tmp_path, tiny_model):
    from nlsn_gui.qt.main_window import MainWindow

    QApplication.instance().setProperty("nlsn_quiet", True)
    path = str(tmp_path / "settings.ini")
    win = MainWindow(settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(win)
    win.scale_box.setCurrentIndex(win.scale_box.findData(3))
    win.seed_box.setValue(7)
    win.close()
    again = MainWindow(settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(again)
    assert again.scale == 3 and again.seed_box.value() == 7
    again.close()


def test_batch_dialog_processes_a_folder(qtbot, window, tiny_model, tmp_path, monkeypatch):
    from nlsn_gui.qt.batch_dialog import BatchDialog

    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        PILImage.fromarray(smooth_image(10, 12, seed=i)).save(src / f"p{i}.png")
    use_model(qtbot, window, tiny_model)
    dialog = BatchDialog(window.host, parent=window, folder=src)
    qtbot.addWidget(dialog)
    dialog.output_edit.setText(str(tmp_path / "out"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.job_id is None, timeout=TIMEOUT)
    assert "2 upscaled, 0 skipped, 0 failed" in dialog.status.text()
    assert load_image(tmp_path / "out" / "p1_x2.png").width == 24
    dialog.start()
    qtbot.waitUntil(lambda: dialog.job_id is None, timeout=TIMEOUT)
    assert "0 upscaled, 2 skipped" in dialog.status.text()
    from nlsn_gui.state.choices import OutputTarget

    window.set_output_target(OutputTarget(factor=1.5))  # the window's output size and quality apply
    window.run._set(quality=60)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(".jpg"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.job_id is None, timeout=TIMEOUT)
    assert "2 upscaled" in dialog.status.text()
    assert load_image(tmp_path / "out" / "p1_x1.5.jpg").pixels.shape == (15, 18, 3)
    window.set_output_target(None)
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    assert dialog.open_button.isEnabled() and dialog.open_output() and opened == [str(tmp_path / "out")]


def test_self_test_drives_the_real_window(tmp_path):
    # In a child process: app.exec() ends with aboutToQuit, which tears down pyqtgraph for good.
    import os
    import subprocess
    import sys

    from core.checkpoints.bundled import bundled_models

    if "nlsn-light-x2" not in bundled_models():
        pytest.skip("no bundled x2 model")
    out = tmp_path / "self-test.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "nlsn_gui", "--self-test", str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "self-test: sample.png upscaled" in done.stdout
    result = load_image(out)
    assert (result.width, result.height) == (384, 256)


def test_a_1024_px_window_keeps_upscale_cancel_and_the_zoom_presets_in_view(qtbot, tmp_path):
    from PySide6.QtCore import QPoint

    win = helpers.make_window(qtbot, tmp_path, name="narrow.ini", size=(1024, 700))
    assert win.width() == 1024  # the Training page does not widen the window either
    win.open_image(Image(smooth_image(20, 24)), name="narrow")
    helpers.idle(qtbot, win)
    win.inspector_dock.show()
    qtbot.waitUntil(lambda: win.inspector_dock.width() >= 0.25 * 1024, timeout=5000)  # its first size: usable

    def in_view(widget, bar) -> bool:
        x = widget.mapTo(bar, QPoint(0, 0)).x()
        return widget.isVisible() and x + widget.width() <= bar.width()

    assert in_view(win.upscale_button, win.bar) and in_view(win.cancel_button, win.bar)
    bar = win.compare.toolbar
    assert all(in_view(b, bar) for b in bar.zoom_buttons) and in_view(bar.zoom_label, bar)
    assert not bar.swipe_choices_shown()  # the swipe pair shows in swipe mode only
    win.worker.shutdown()


def test_simulate_refits_the_sample_opens_to_upscale_and_save_starts_beside_the_image(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from nlsn_gui.qt.toolbar import select

    win = helpers.make_window(qtbot, tmp_path, name="fixes.ini")
    src = tmp_path / "pics" / "photo.png"
    src.parent.mkdir()
    PILImage.fromarray(smooth_image(40, 44)).save(src)
    win.open_path(src)
    idle(qtbot, win)
    win.compare.set_zoom(800)
    win.mode_box.setCurrentIndex(win.mode_box.findData("simulate"))  # -> prepared again, another size
    idle(qtbot, win)
    qtbot.wait(100)
    fitted = win.compare.zoom()
    win.compare.zoom_fit()
    qtbot.wait(100)
    assert fitted == pytest.approx(win.compare.zoom(), rel=0.02)  # re-fitted, not left at 800 %

    seen = {}

    def fake_dialog(_parent, _title, start, _filters):
        seen["start"] = start
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake_dialog)
    win.doc.comparison.sr = win.doc.comparison.bicubic  # as if upscaled
    win.save_dialog()
    assert seen["start"].startswith(str(src.parent) + "/")  # beside the image, not in the home folder

    select(win.mode_box, "simulate")
    win.open_sample()
    idle(qtbot, win)
    assert win.mode == "upscale" and win.doc.comparison.mode == "upscale"  # the sample is an LR image
    win.worker.shutdown()


def test_open_recent_names_the_path_of_a_missing_file_and_forgets_it(qtbot, tmp_path):
    QApplication.instance().setProperty("nlsn_quiet", True)
    win = helpers.make_window(qtbot, tmp_path, name="recent.ini")
    gone = tmp_path / "gone.png"
    PILImage.fromarray(smooth_image(20, 24)).save(gone)
    win.open_path(gone)
    idle(qtbot, win)
    assert str(gone) in win.recent_files()
    gone.unlink()
    win.open_recent(gone)
    assert str(gone) in win.status_label.text() and "no longer there" in win.status_label.text()
    assert str(gone) not in win.recent_files()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    win.open_path(bad)
    idle(qtbot, win)
    assert str(bad) in win.status_label.text()  # the whole path, not just the name
    win.worker.shutdown()


def test_help_lists_the_shortcuts_and_says_the_version_and_where_the_docs_are(qtbot, tmp_path):
    from core import __version__
    from nlsn_gui.qt import help_menu

    win = helpers.make_window(qtbot, tmp_path, name="help.ini")
    menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "Help")
    assert [a.text().replace("&", "") for a in menu.actions() if a.text()] == \
        ["Keyboard Shortcuts", "Documentation", "About NLSN Studio"]
    rows = dict(help_menu.shortcuts(win))
    assert rows["Upscale"] == "Ctrl+Return" and rows["Training"] == "Ctrl+T" and rows["Keyboard Shortcuts"] == "F1"
    dialog = help_menu.show_shortcuts(win)
    assert dialog.findChild(QTableWidget).rowCount() == len(rows)
    dialog.close()
    text = help_menu.about_text()
    assert __version__ in text and "torch" in text and "README.md" in text
    assert help_menu.docs_target() is not None
    win.worker.shutdown()


def test_a_result_made_otherwise_says_so_and_a_scale_change_keeps_it(qtbot, tmp_path):
    win = helpers.make_window(qtbot, tmp_path, name="stale.ini")
    use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    win.open_image(Image(smooth_image(20, 24)), name="stale")
    idle(qtbot, win)
    win.upscale()
    idle(qtbot, win)

    def nlsn_title():
        return win.compare.panel_title("nlsn")

    assert nlsn_title() == "NLSN"
    win.seed_box.setValue(5)
    assert nlsn_title() == "NLSN (made with seed 0)" and "made with seed 0" in win.status_label.text()
    win.seed_box.setValue(0)
    assert nlsn_title() == "NLSN"

    win.scale_box.setCurrentIndex(win.scale_box.findData(3))  # another scale: the x2 result is set aside
    idle(qtbot, win)
    assert win.doc.comparison.scale == 3 and nlsn_title() is None
    assert "the ×2 NLSN result is kept" in win.status_label.text()
    win.scale_box.setCurrentIndex(win.scale_box.findData(2))
    idle(qtbot, win)
    assert win.doc.has_result and win.doc.comparison.scale == 2 and nlsn_title() is not None
    assert "the ×2 NLSN result is back" in win.status_label.text()
    win.worker.shutdown()


def test_saving_a_photo_keeps_its_profile_and_exif(qtbot, tmp_path):
    from PIL import ImageCms

    from tests.core.image.test_metadata import MAKE, photo

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo(tmp_path / "cam.jpg", icc)
    win = helpers.make_window(qtbot, tmp_path, name="meta.ini")
    use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    win.open_path(tmp_path / "cam.jpg")
    idle(qtbot, win)
    win.upscale()
    idle(qtbot, win)
    win.save(tmp_path / "cam_x2.webp")
    idle(qtbot, win)
    with PILImage.open(tmp_path / "cam_x2.webp") as written:
        written.load()
        assert written.size == (40, 60) and written.info.get("icc_profile") == icc
        assert written.getexif()[MAKE] == "TestCam"
    win.worker.shutdown()


def test_save_at_any_factor_or_size(qtbot, tmp_path):
    from nlsn_gui.qt.output_size_dialog import OutputSizeDialog
    from nlsn_gui.state.choices import OutputTarget

    win = helpers.make_window(qtbot, tmp_path, name="size.ini")
    use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    win.open_image(Image(smooth_image(20, 30)), name="photo.png")
    idle(qtbot, win)
    dialog = OutputSizeDialog(None, lr_size=(30, 20), parent=win)
    assert dialog.target() is None and "own result" in dialog.note.text()
    dialog.by_factor.setChecked(True)
    dialog.factor.setValue(1.5)
    assert dialog.target() == OutputTarget(factor=1.5)
    assert "30×20 → 45×30: NLSN ×2, then the MATLAB bicubic" in dialog.note.text()
    dialog.by_size.setChecked(True)
    dialog.width_box.setValue(5000)
    assert not dialog.ok.isEnabled() and "more than 16 times" in dialog.note.text()
    dialog.close()

    win.set_output_target(OutputTarget(factor=1.5))
    assert win.scale == 2 and win.info_label.text() == "30×20 → 60×40 → saved 45×30"
    win.upscale()
    idle(qtbot, win)
    assert win.doc.default_save_name(2, tag=win.output_size().tag) == "photo_x1.5.png"
    win.save(tmp_path / "photo_x1.5.png")
    idle(qtbot, win)
    assert load_image(tmp_path / "photo_x1.5.png").pixels.shape == (30, 45, 3)
    assert "45×30: NLSN ×2, then bicubic" in win.status_label.text()
    win.set_output_target(OutputTarget(width=100))  # 100 x 67 needs more than x3: the x4 model
    assert win.scale == 4
    idle(qtbot, win)
    assert win.info_label.text() == "30×20 → 120×80 → saved 100×67"
    win.set_output_target(None)
    assert win.info_label.text().endswith("→ 120×80")
    win.worker.shutdown()


def test_ensemble_precision_tiles_and_quality_from_the_menus(qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from nlsn_gui.qt.run_options import MemoryDialog

    win = helpers.make_window(qtbot, tmp_path, name="run.ini")
    use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    win.open_image(Image(smooth_image(60, 64)), name="opts.png")
    idle(qtbot, win)
    win.run.ensemble.setChecked(True)
    win.run.precision_actions["bf16"].trigger()
    dialog = MemoryDialog(win.run.options)
    dialog.by_tile.setChecked(True)
    dialog.tile.setValue(48)
    win.run._set(**{k: getattr(dialog.chosen(win.run.options), k) for k in ("memory_gib", "tile")})
    assert win.run.options.text() == "x8 ensemble, bf16, tiles of 48 px"
    win.upscale()
    idle(qtbot, win)
    status = win.status_label.text()
    assert "tiles" in status and "x8 ensemble" in status and "bf16" in status, status
    win.run._set(quality=40)
    for quality in (40, 95):
        win.run._set(quality=quality)
        win.save(tmp_path / f"q{quality}.jpg")
        idle(qtbot, win)
    assert (tmp_path / "q40.jpg").stat().st_size < (tmp_path / "q95.jpg").stat().st_size
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    assert win.run.show_folder() and opened == [str(tmp_path)]
    win.worker.shutdown()
    again = helpers.make_window(qtbot, tmp_path, name="run.ini")  # remembered
    assert again.run.options.ensemble and again.run.options.precision == "bf16" and again.run.options.tile == 48
    assert again.run.options.quality == 95 and again.run.ensemble.isChecked()
    again.worker.shutdown()


def test_an_animation_opens_on_its_first_frame_and_saves_every_frame(qtbot, tmp_path):
    from core.image.animation import load_animation
    from tests.core.image.test_animation import gif

    win = helpers.make_window(qtbot, tmp_path, name="anim.ini")
    use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    win.open_path(gif(tmp_path / "clip.gif"))
    idle(qtbot, win)
    assert win.doc.frames == 3 and "animated, 3 frames" in win.status_label.text()
    win.upscale()
    idle(qtbot, win)
    win.save(tmp_path / "clip_x2.gif")
    idle(qtbot, win)
    out = load_animation(tmp_path / "clip_x2.gif")
    assert len(out.frames) == 3 and out.durations == [70, 90, 110] and out.frames[0].pixels.shape == (48, 64, 3)
    assert "3 frames" in win.status_label.text()
    win.save(tmp_path / "first.jpg")  # a still format: the first frame's result
    idle(qtbot, win)
    assert load_image(tmp_path / "first.jpg").pixels.shape == (48, 64, 3)
    win.worker.shutdown()
