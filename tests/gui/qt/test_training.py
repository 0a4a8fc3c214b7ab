"""The training panel (nlsn_gui/training_panel.py), offscreen: controls, plots' data, previews, runs."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.image import Image, load_image  # noqa: E402
from core.train import RunFolder, RunHistory, TrainConfig, Trainer, smooth  # noqa: E402
from core.reference.images import smooth_image, training_folders  # noqa: E402
from nlsn_gui.qt.training.form import choose  # noqa: E402
from tests.gui.qt import helpers  # noqa: E402
from tests.gui.qt.helpers import TIMEOUT  # noqa: E402

from tests.paths import ROOT  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return training_folders(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def past_runs(folders, tmp_path_factory):
    """Two finished runs made by the engine directly (no GUI), to reopen and compare."""
    train, val = folders
    base = tmp_path_factory.mktemp("runs")
    runs = []
    for name, lr in (("run-a", 1e-3), ("run-b", 3e-3)):
        cfg = TrainConfig(data=[str(train)], val=str(val), scale=2, preset="tiny", iters=6, batch=2, patch=12,
                          lr=lr, log_every=1, val_every=3, save_every=3, previews=2)
        Trainer(cfg, base / name).run()
        runs.append(base / name)
    return runs


def make_window(qtbot, tmp_path, name="settings.ini"):
    win = helpers.make_window(qtbot, tmp_path, name=name)
    win.show_training()
    return win, win.training_panel


@pytest.fixture()
def window(qtbot, tmp_path):
    win, panel = make_window(qtbot, tmp_path)
    yield win, panel
    panel.confirm_close()  # never leave a run on the worker
    win.worker.shutdown()


def set_up(panel, folders, out, *, iters=6, scale=2, lr="1e-3"):
    train, val = folders
    panel.form.set_training_folders([str(train)])
    panel.form.val_folder.setText(str(val))
    choose(panel.form.scale_box, scale)
    choose(panel.form.preset_box, "tiny")
    panel.form.patch_spin.setValue(12)
    panel.form.batch_spin.setValue(2)
    panel.form.iters_spin.setValue(iters)
    panel.form.lr_edit.setText(lr)
    panel.form.val_every_spin.setValue(3)
    panel.form.save_every_spin.setValue(3)
    panel.form.log_every_spin.setValue(1)
    panel.form.out_folder.setText(str(out))
    panel.form._out_edited()


def ended(panel):
    return panel._run is not None and panel._run.ended


# --------------------------------------------------------------------------- the dock


def test_training_is_a_page_beside_compare_and_leaves_the_viewer_its_room(qtbot, tmp_path):
    win = helpers.make_window(qtbot, tmp_path)
    panel = win.training_panel
    assert win.pages.count() == 2 and win.pages.current() is win.compare  # the viewer comes first
    assert win.compare.height() > 600  # nothing docked under it (a 1400x900 window)
    view = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "View")
    action = next(a for a in view.actions() if a.text().replace("&", "") == "Training")
    assert action.shortcut() == QKeySequence("Ctrl+T")
    win.inspector_dock.show()
    action.trigger()
    assert win.pages.current() is panel and panel.isVisible() and panel.height() > 600
    assert not win.inspector_dock.isVisible()  # the inspector belongs to the comparison
    action.trigger()
    assert win.pages.current() is win.compare and win.inspector_dock.isVisible()
    win.worker.shutdown()


def test_every_launch_starts_on_compare_with_its_docks(qtbot, tmp_path):
    from nlsn_gui.qt.main_window import MainWindow

    QApplication.instance().setProperty("nlsn_quiet", True)
    ini = str(tmp_path / "layout.ini")
    first = MainWindow(settings=QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(first)
    first.show()
    first.inspector_dock.show()
    first.show_training()
    first._save_settings()  # closed on the Training page
    first.worker.shutdown()
    second = MainWindow(settings=QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(second)
    second.show()
    assert second.pages.current() is second.compare and second.inspector_dock.isVisible()
    second.worker.shutdown()


def test_on_a_cpu_the_form_starts_with_a_run_that_finishes_and_says_how_long(qtbot, tmp_path):
    win = helpers.make_window(qtbot, tmp_path)  # fresh settings
    win.show_training()
    form = win.training_panel.form
    assert (form.iters_spin.value(), form.batch_spin.value()) == (2_000, 4)  # not 1,000,000 x 16: weeks
    choose(form.preset_box, "tiny")
    qtbot.waitUntil(lambda: "steps in about" in form.time_label.text(), timeout=TIMEOUT)
    assert form.time_label.text().startswith("About ") and "this CPU: 2,000 steps" in form.time_label.text()
    jobs = len(win.training_panel.timing.estimates)
    form.iters_spin.setValue(4_000)  # only the sum changes: no new timing
    assert "4,000 steps" in form.time_label.text() and len(win.training_panel.timing.estimates) == jobs
    win.worker.shutdown()


# --------------------------------------------------------------------------- controls


def test_start_pause_resume_stop(qtbot, window, folders, tmp_path):
    win, panel = window
    set_up(panel, folders, tmp_path / "run", iters=100_000)
    assert panel.state == "idle" and panel.controls.start_button.isEnabled() and not panel.controls.stop_button.isEnabled()
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "running" and panel.history.step >= 2, timeout=TIMEOUT)
    assert not panel.controls.start_button.isEnabled() and panel.controls.pause_button.isEnabled() and panel.controls.stop_button.isEnabled()
    assert not panel.form.preset_box.isEnabled()  # the form is locked while the run lives

    # other jobs run between two steps while the run trains; the status bar follows the run
    ran = []
    job = win.worker.submit("Upscaling ×2", lambda ctx: ran.append(panel.trainer.step))
    qtbot.waitUntil(lambda: job not in win.worker.pending(), timeout=TIMEOUT)
    assert len(ran) == 1 and panel.is_live and panel.state == "running"
    qtbot.waitUntil(lambda: panel.trainer.step > ran[0] + 1, timeout=TIMEOUT)  # and the run goes on
    qtbot.waitUntil(lambda: win.training_badge.text().startswith("Training run: ")
                    and "/ 100,000" in win.training_badge.text(), timeout=5000)
    qtbot.waitUntil(lambda: "after the current training step" not in panel.queue_text(), timeout=5000)

    panel.controls.pause_button.click()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=TIMEOUT)
    assert panel.controls.resume_button.isEnabled() and not panel.controls.pause_button.isEnabled()
    qtbot.waitUntil(lambda: "paused" in panel.controls.stats_label.text(), timeout=5000)
    assert "it/s" not in panel.controls.stats_label.text() and "ETA" not in panel.controls.stats_label.text()
    qtbot.waitUntil(lambda: "paused at" in win.training_badge.text(), timeout=5000)
    served = []
    job = win.worker.submit("Inspecting", lambda ctx: served.append(True))  # served while paused too
    qtbot.waitUntil(lambda: served == [True], timeout=5000)
    frozen = panel.trainer.step
    refreshes = panel._refreshes
    qtbot.waitUntil(lambda: panel._refreshes >= refreshes + 3, timeout=5000)  # ~0.75 s of timer ticks
    assert panel.trainer.step == frozen and panel.history.step <= frozen and panel.state == "paused"

    panel.controls.resume_button.click()
    qtbot.waitUntil(lambda: panel.trainer.step >= frozen + 2, timeout=TIMEOUT)
    assert panel.state == "running"
    panel.controls.stop_button.click()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "stopped" and panel.history.state == "stopped"
    checkpoint = tmp_path / "run" / "checkpoints" / "last.pt"
    assert checkpoint.is_file()
    assert torch.load(checkpoint, weights_only=True)["step"] == panel.trainer.step
    assert "Stopped at step" in panel.message_text()
    assert panel.controls.start_button.isEnabled() and not panel.controls.stop_button.isEnabled()


def test_closing_during_a_run_stops_it_cleanly(qtbot, window, folders, tmp_path):
    win, panel = window
    set_up(panel, folders, tmp_path / "run", iters=100_000)
    panel.start()
    qtbot.waitUntil(lambda: panel.history.step >= 2, timeout=TIMEOUT)
    assert panel.confirm_close()  # quiet: no question, stops and waits
    assert ended(panel) and panel.state == "stopped"
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    assert (tmp_path / "run" / "model_last.safetensors").is_file()


def test_open_and_upscale_while_a_run_trains(qtbot, window, folders, tmp_path):
    win, panel = window
    helpers.use_model(qtbot, win, helpers.save_tiny(tmp_path / "tiny.safetensors"))
    set_up(panel, folders, tmp_path / "run", iters=100_000)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.history.step >= 2, timeout=TIMEOUT)
    assert not win.cancel_button.isEnabled()  # nothing of the window's to cancel: the run has Stop
    win.pages.show_page(win.compare)
    win.open_image(Image(smooth_image(20, 24)), name="while training")
    qtbot.waitUntil(lambda: win.doc is not None and win.upscale_button.isEnabled(), timeout=TIMEOUT)
    win.upscale()
    assert win.cancel_button.isEnabled()  # the window's job can be cancelled
    qtbot.waitUntil(lambda: win.doc.has_result, timeout=TIMEOUT)
    assert panel.is_live and panel.state == "running"  # served between two steps
    step = panel.trainer.step
    qtbot.waitUntil(lambda: panel.trainer.step > step, timeout=TIMEOUT)  # then the run went on
    assert not win.cancel_button.isEnabled() and win.upscale_button.isEnabled()
    assert "NLSN ×2" in win.status_label.text()
    panel.stop()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "after the current training step" not in panel.queue_text(), timeout=5000)  # no note left


def test_the_windows_cancel_leaves_the_run_alone(qtbot, window, folders, tmp_path):
    win, panel = window
    set_up(panel, folders, tmp_path / "run", iters=100_000)
    panel.start()
    qtbot.waitUntil(lambda: panel.history.step >= 1, timeout=TIMEOUT)
    panel.pause()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=TIMEOUT)
    win.cancel()  # Esc in the main window cancels upscaling, not training
    qtbot.wait(300)
    assert panel.state == "paused" and not ended(panel)
    panel.stop()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "stopped" and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


# --------------------------------------------------------------------------- plots, previews, model


def test_plots_previews_and_use_this_model(qtbot, window, folders, tmp_path):
    win, panel = window
    run = tmp_path / "run"
    set_up(panel, folders, run, iters=6, scale=3)
    assert panel.start()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "completed", panel.message_text()
    panel.refresh()
    snap = panel.history.snapshot()
    assert list(snap.steps) == [1, 2, 3, 4, 5, 6] and list(snap.val_steps) == [3, 6]

    # the curves hold exactly the history, which matches metrics.jsonl
    x, y = panel.plots.plot_data("loss")
    assert np.array_equal(x, snap.steps) and np.array_equal(y, snap.losses)
    x, y = panel.plots.plot_data("loss_ema")
    assert np.allclose(y, smooth(snap.losses, panel.plots.smoothing))
    assert np.array_equal(panel.plots.plot_data("lr")[1], snap.lrs)
    assert np.array_equal(panel.plots.plot_data("psnr")[1], snap.psnr)
    assert np.array_equal(panel.plots.plot_data("ssim")[1], snap.ssim)
    records = RunFolder(run).read_metrics()
    train = [r for r in records if "loss" in r]
    vals = [r for r in records if "psnr" in r]
    assert np.allclose(panel.plots.plot_data("loss")[1], [r["loss"] for r in train], atol=1e-6)
    assert np.allclose(panel.plots.plot_data("psnr")[1], [r["psnr"] for r in vals], atol=1e-4)
    assert np.allclose(panel.plots.plot_data("ssim")[1], [r["ssim"] for r in vals], atol=1e-6)
    best = int(np.argmax(snap.psnr))
    bx, by = panel.plots.plot_data("best")
    assert list(bx) == [snap.val_steps[best]] and list(by) == [snap.psnr[best]]
    assert f"best {snap.psnr[best]:.2f}" in panel.plots.psnr_plot.title_text
    assert panel.plots.log_check.isChecked() and panel.plots.loss_plot.getAxis("left").logMode
    panel.plots.log_check.setChecked(False)
    assert not panel.plots.loss_plot.getAxis("left").logMode

    # smoothing changes the EMA curve only
    panel.plots.smooth_slider.setValue(30)
    assert np.allclose(panel.plots.plot_data("loss_ema")[1], smooth(snap.losses, 0.30))
    assert np.array_equal(panel.plots.plot_data("loss")[1], snap.losses)

    # previews: the newest validation, and the slider steps back to earlier ones
    assert panel.previews.slider.maximum() == 1 and panel.previews.index() == 1
    assert np.array_equal(panel.previews.image(), load_image(run / "previews" / "00000006.png").pixels)
    assert "step 6" in panel.previews.label.text()
    panel.previews.slider.setValue(0)
    assert np.array_equal(panel.previews.image(), load_image(run / "previews" / "00000003.png").pixels)
    assert "step 3" in panel.previews.label.text()

    # use this model: the window's model becomes the run's file, at the run's scale
    assert win.scale == 2
    path = panel.use_model("best")
    assert path == run / "model_best.safetensors"
    assert win.model_path() == str(path) and win.scale == 3
    assert panel.use_model("last") == run / "model_last.safetensors"
    assert win.model_path() == str(run / "model_last.safetensors")
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=TIMEOUT)

    # ... and it upscales
    win.open_image(Image(smooth_image(12, 14, seed=3)), name="small")
    qtbot.waitUntil(lambda: not win.worker.busy and win.doc is not None, timeout=TIMEOUT)
    win.upscale()
    qtbot.waitUntil(lambda: not win.worker.busy and win.doc.comparison.sr is not None, timeout=TIMEOUT)
    assert win.doc.comparison.sr.pixels.shape == (36, 42, 3)
    assert "model_last" in win.status_label.text()


def test_a_new_run_starts_clean_and_the_run_list_says_how_runs_stand(qtbot, window, folders, tmp_path):
    win, panel = window
    set_up(panel, folders, tmp_path / "first", iters=6)
    assert panel.start()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    panel.refresh()
    assert panel.previews.image() is not None and len(panel.plots.plot_data("psnr")[0]) == 2
    line = panel.runs_tab.item(tmp_path / "first").text()
    assert line.startswith("first  —  6 / 6 steps · best ") and line.endswith(" dB · completed")
    # the lr plot of a constant rate is labelled at that rate and 0, not at ten in-between values
    ticks = panel.plots.lr_plot.getAxis("left")._tickLevels
    assert [v for v, _ in ticks[0]] == [0.0, 1e-3]
    # one step axis for all four plots
    ranges = {k: tuple(round(v, 6) for v in p.getViewBox().viewRange()[0]) for k, p in
              (("loss", panel.plots.loss_plot), ("lr", panel.plots.lr_plot), ("psnr", panel.plots.psnr_plot),
               ("ssim", panel.plots.ssim_plot))}
    assert len(set(ranges.values())) == 1, ranges

    set_up(panel, folders, tmp_path / "second", iters=100_000)
    panel.form.val_every_spin.setValue(4)
    assert panel.start()  # until its first validation, nothing of the first run shows
    assert panel.previews.image() is None and "Crops of the validation" in panel.previews.empty.text()
    assert panel.previews.stack.currentWidget() is panel.previews.empty
    assert len(panel.plots.plot_data("psnr")[0]) == 0 and panel.plots.psnr_plot.title_text == "Validation PSNR (dB)"
    assert panel.plots.psnr_plot.getViewBox().viewRange()[1] == pytest.approx([19.0, 41.0])  # the empty axes
    qtbot.waitUntil(lambda: len(panel.history.snapshot().val_steps) >= 1, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: len(panel.plots.plot_data("ssim")[0]) >= 1, timeout=5000)
    assert panel.plots.curves["ssim"].opts["symbol"] == "o"  # a first validation is a visible point
    qtbot.waitUntil(lambda: "second  —  " in panel.runs_tab.item(tmp_path / "second").text()
                    and "running" in panel.runs_tab.item(tmp_path / "second").text(), timeout=5000)
    panel.stop()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)


def test_start_from_a_x2_model_with_a_warm_up_schedule_and_weight_ema_for_x3(qtbot, window, folders, tmp_path):
    win, panel = window
    set_up(panel, folders, tmp_path / "x2", iters=2)
    panel.start()
    qtbot.waitUntil(lambda: ended(panel) and panel.state == "completed", timeout=TIMEOUT)
    set_up(panel, folders, tmp_path / "x3", iters=3, scale=3)
    assert panel.form.init_field.edit.placeholderText() == "random weights (a new model)"
    panel.form.init_field.setText(str(tmp_path / "x2" / "model_last.safetensors"))
    panel.form.warmup_spin.setValue(2)
    panel.form.halve_spin.setValue(2)
    assert panel.form.ema_spin.text() == "off"  # the paper's default
    panel.form.ema_spin.setValue(0.9)
    assert panel.start()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "completed"
    config = json.loads((tmp_path / "x3" / "config.json").read_text())
    assert config["init_from"].endswith("model_last.safetensors") and config["warmup"] == 2
    assert config["lr_halve_every"] == 2 and config["ema_decay"] == 0.9
    assert "the upsampler starts fresh" in panel.log.toPlainText()
    lrs = [r["lr"] for r in RunFolder(tmp_path / "x3").read_metrics() if "lr" in r]
    assert lrs[:3] == pytest.approx([1e-3 / 3, 2e-3 / 3, 5e-4])  # warm-up over 2 steps, then halved at 2
    from core.checkpoints import load_model
    assert load_model(tmp_path / "x3" / "model_last.safetensors").provenance["ema_decay"] == 0.9


def test_seed_and_snapshots_from_the_form_then_average_them(qtbot, window, folders, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from core.checkpoints import load_model, save_model
    from core.network import NLSN, preset

    win, panel = window
    run = tmp_path / "run"
    set_up(panel, folders, run, iters=4)
    assert panel.form.keep_every_spin.text() == "off"  # default: no snapshots
    panel.form.seed_spin.setValue(7)
    panel.form.keep_every_spin.setValue(2)
    assert panel.start()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "completed", panel.message_text()
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 7 and config["keep_every"] == 2
    snaps = sorted((run / "snapshots").glob("*.safetensors"))
    assert [p.name for p in snaps] == ["step_00000002.safetensors", "step_00000004.safetensors"]

    # remembered with the rest of the form
    panel.form.save()
    win2, panel2 = make_window(qtbot, tmp_path)
    try:
        assert panel2.form.seed_spin.value() == 7 and panel2.form.keep_every_spin.value() == 2
    finally:
        win2.worker.shutdown()

    # Model > Average Models...: the dialogs open on the run's snapshots and propose a file beside
    # its models; the average becomes the window's model
    asked = {}

    def pick(parent, caption, start, filters):
        asked["start"] = start
        return [str(p) for p in snaps], filters

    def save_as(parent, caption, proposed, filters):
        asked["proposed"] = proposed
        return proposed, filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(pick))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    assert win.act_average in win.menuBar().actions()[1].menu().actions()
    win.act_average.trigger()
    out = run / "model_average.safetensors"
    assert asked == {"start": str(run / "snapshots"), "proposed": str(out)}
    qtbot.waitUntil(lambda: win.model_path() == str(out) and not win.worker.busy, timeout=TIMEOUT)
    assert "the average of 2 models" in win.status_label.text()
    a, b = (load_model(p).model.state_dict() for p in snaps)
    averaged = load_model(out)
    for key, value in averaged.model.state_dict().items():
        assert torch.allclose(value, (a[key] + b[key]) / 2, atol=1e-7), key
    assert averaged.provenance["averaged"] == [p.name for p in snaps]

    # one file, or models of different configurations: a readable message, nothing written
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a: ([str(snaps[0])], "")))
    win.average_dialog()
    assert "two or more model files" in win.status_label.text()
    other = tmp_path / "x3.safetensors"
    save_model(other, NLSN(preset("tiny", scale=3)))
    bad = tmp_path / "bad.safetensors"
    win.chooser.average([snaps[0], other], bad)
    qtbot.waitUntil(lambda: "another configuration" in win.status_label.text(), timeout=TIMEOUT)
    assert win.status_label.text().startswith("Error:") and not bad.exists()
    assert win.model_path() == str(out)


def test_data_preparation_shows_progress_and_stop_is_quick(qtbot, window, folders, tmp_path, monkeypatch):
    import core.data.images

    win, panel = window
    real = core.data.images._make_pair
    monkeypatch.setattr(core.data.images, "_make_pair", lambda *a: time.sleep(0.4) or real(*a))  # slow images
    set_up(panel, folders, tmp_path / "run", iters=100)
    panel.start()
    qtbot.waitUntil(lambda: "preparing the training images: 1 / 4" in panel.controls.stats_label.text(), timeout=TIMEOUT)
    assert panel.state == "preparing" and panel.controls.progress.format() == "images 25%"
    asked = time.perf_counter()
    panel.stop()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert time.perf_counter() - asked < 1.5  # the image in hand (0.4 s), then a checkpoint
    assert panel.state == "stopped" and "preparing" not in panel.controls.stats_label.text()
    assert panel.prepare_resume(tmp_path / "run")  # resumable: the prepared images stay cached


def test_resume_a_stopped_run_continues_its_curves(qtbot, window, folders, tmp_path):
    win, panel = window
    run = tmp_path / "run"
    set_up(panel, folders, run, iters=100_000)
    assert panel.form.precision_box.currentData() == "fp32"  # the paper's, by default
    choose(panel.form.precision_box, "bf16")
    panel.start()
    qtbot.waitUntil(lambda: panel.history.step >= 4, timeout=TIMEOUT)
    assert json.loads((run / "config.json").read_text())["precision"] == "bf16"
    panel.stop()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    stopped_at = panel.trainer.step
    choose(panel.form.precision_box, "fp32")
    assert panel.prepare_resume(run)
    assert panel.controls.start_button.text() == "Resume run" and not panel.form.patch_spin.isEnabled()
    assert panel.form.precision_box.currentData() == "bf16" and panel.form.precision_box.isEnabled()
    panel.form.iters_spin.setValue(stopped_at + 3)
    assert panel.start()
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "completed"
    steps = panel.history.snapshot().steps.tolist()
    assert steps == list(range(1, stopped_at + 4))  # earlier curve kept, redone steps replaced
    assert [r["step"] for r in RunFolder(run).read_metrics() if "loss" in r] == steps


# --------------------------------------------------------------------------- past runs


def test_reopened_runs_show_their_curves_and_overlay(qtbot, window, past_runs, tmp_path):
    win, panel = window
    a, b = past_runs
    assert panel.open_run(a)
    records = RunFolder(a).read_metrics()
    assert np.allclose(panel.plots.plot_data("loss")[1], [r["loss"] for r in records if "loss" in r])
    assert np.allclose(panel.plots.plot_data("psnr")[1], [r["psnr"] for r in records if "psnr" in r])
    assert panel.previews.slider.maximum() == 1
    assert np.array_equal(panel.previews.image(), load_image(a / "previews" / "00000006.png").pixels)
    assert "run-a" in panel.plots.run_title.text()

    panel.add_run(b, checked=True)
    panel.add_run(a, checked=True)  # the run in view is not overlaid on itself
    overlays = panel.plots.overlay_data()
    assert set(overlays) == {"run-b"}
    b_records = RunFolder(b).read_metrics()
    x, y = overlays["run-b"]["psnr"]
    assert list(x) == [3, 6] and np.allclose(y, [r["psnr"] for r in b_records if "psnr" in r])
    history_b = RunHistory.from_metrics(b)
    assert np.allclose(overlays["run-b"]["loss"][1], history_b.ema(panel.plots.smoothing))
    assert panel.runs_tab.runs.paths[:2] == [str(b), str(a)]  # newest first

    # remembered: a new window lists the runs, with their ticks
    panel.form.save()
    win2, panel2 = make_window(qtbot, tmp_path)
    try:
        assert panel2.runs_tab.runs.paths[:2] == [str(b), str(a)]
        assert set(panel2.runs_tab.runs.checked_runs()) == {a, b}
        assert set(panel2.plots.overlay_data()) == {"run-a", "run-b"}  # nothing in view yet: both overlaid
    finally:
        win2.worker.shutdown()

    # use the reopened run's model
    assert panel.use_model("best") == a / "model_best.safetensors"
    assert win.model_path() == str(a / "model_best.safetensors")


# --------------------------------------------------------------------------- errors


def test_bad_input_shows_a_readable_message(qtbot, window, folders, tmp_path, capsys):
    win, panel = window
    set_up(panel, folders, tmp_path / "run")
    panel.form.set_training_folders([str(tmp_path / "missing")])
    assert not panel.start()
    assert "training folder not found" in panel.message_text() and str(tmp_path / "missing") in panel.message_text()
    assert panel._run is None and not win.worker.busy

    set_up(panel, folders, tmp_path / "run")
    panel.form.lr_edit.setText("fast")
    assert not panel.start()
    assert "learning rate" in panel.message_text()
    panel.form.lr_edit.setText("0")
    assert not panel.start()
    assert "lr must be a positive number" in panel.message_text()

    set_up(panel, folders, tmp_path / "run")
    panel.form.set_training_folders([])
    assert not panel.start()
    assert "no training data" in panel.message_text()

    set_up(panel, folders, tmp_path / "run")  # the tiny configuration from a light model
    panel.form.init_field.setText(str(ROOT / "resources" / "models" / "nlsn-light-x2.safetensors"))
    assert not panel.start()
    assert "64 features and 16 blocks; the tiny configuration has 16 features" in panel.message_text()
    panel.form.init_field.setText(str(tmp_path / "gone.safetensors"))
    assert not panel.start()
    assert "gone.safetensors: model file not found" in panel.message_text()
    panel.form.init_field.setText("")

    empty = tmp_path / "empty"
    empty.mkdir()
    set_up(panel, folders, tmp_path / "run2")
    panel.form.set_training_folders([str(empty)])
    assert panel.start()  # the folder exists: the engine finds it holds no image
    qtbot.waitUntil(lambda: ended(panel), timeout=TIMEOUT)
    assert panel.state == "failed" and "no usable training image" in panel.message_text()

    assert not panel.prepare_resume(tmp_path)  # not a run folder
    assert "not a training run" in panel.message_text()
    assert not panel.open_run(tmp_path / "nowhere")
    assert "run folder not found" in panel.message_text()
    assert "Traceback" not in capsys.readouterr().err


def test_closing_asks_first_and_keep_training_keeps_the_window(qtbot, window, folders, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    win, panel = window
    set_up(panel, folders, tmp_path / "run", iters=100_000)
    panel.start()
    qtbot.waitUntil(lambda: panel.history.step >= 1, timeout=TIMEOUT)
    asked = []

    def answer(text):
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            asked.append(box.text())
            next(b for b in box.buttons() if b.text() == text).click()
        else:
            QTimer.singleShot(20, lambda: answer(text))

    QApplication.instance().setProperty("nlsn_quiet", False)
    try:
        QTimer.singleShot(20, lambda: answer("Keep Training"))
        assert panel.confirm_close() is False
        assert panel.is_live and asked and "training run is in progress" in asked[0]
        QTimer.singleShot(20, lambda: answer("Stop and Quit"))
        assert panel.confirm_close() is True
    finally:
        QApplication.instance().setProperty("nlsn_quiet", True)
    assert len(asked) == 2 and ended(panel) and panel.state == "stopped"


def test_a_live_theme_switch_keeps_the_legends_readable(qtbot, window, past_runs):
    from PySide6.QtGui import QColor, QPalette

    win, panel = window
    panel.open_run(past_runs[0])
    panel.runs_tab.add(past_runs[1], checked=True)
    panel._rebuild_overlays()
    assert panel.plots.psnr_legend.isVisible() or panel.plots.psnr_legend.items
    for theme in ("dark", "light"):
        win.set_theme(theme)
        qtbot.wait(50)
        text = panel.plots.palette().color(QPalette.Text)
        for legend in (panel.plots.loss_legend, panel.plots.psnr_legend):
            for _sample, label in legend.items:
                assert QColor(label.opts["color"]).name() == text.name(), theme
    win.set_theme("system")
