"""Toolbar choices, the model list and the recent files, remembered in a store (no Qt)."""

from __future__ import annotations

from nlsn_gui.state.choices import ModelList, UpscaleChoices
from nlsn_gui.state.recent import RecentFiles
from tests.gui.state.store import MemoryStore


def test_choices_round_trip_and_refuse_what_is_not_offered():
    store = MemoryStore()
    UpscaleChoices(mode="simulate", scale=3, device="cpu", seed=7).save(store)
    again = UpscaleChoices.restore(store, devices=["cpu"])
    assert (again.mode, again.scale, again.device, again.seed) == ("simulate", 3, "cpu", 7)
    bad = MemoryStore({"upscale/mode": "nonsense", "upscale/scale": "9", "upscale/device": "cuda",
                       "upscale/seed": "x"})
    restored = UpscaleChoices.restore(bad, devices=["cpu"])
    assert (restored.mode, restored.scale, restored.device, restored.seed) == ("upscale", 2, "cpu", 0)


def test_models_opened_are_listed_after_the_bundled_ones_and_remembered(tmp_path):
    model = tmp_path / "mine.safetensors"
    model.write_bytes(b"x")
    store = MemoryStore()
    models = ModelList(store)
    models.add(model, "mine.safetensors (project, ×2)")
    entries = models.entries(2)
    assert entries[-1].path == str(model) and entries[-1].label == "mine.safetensors (project, ×2)"
    assert all(e.label.endswith("(bundled)") and "-x2" in e.label for e in entries[:-1])
    assert [e.path for e in ModelList(store).entries(2)][-1] == str(model)  # a new launch lists it too
    model.unlink()
    assert str(model) not in [e.path for e in ModelList(store).entries(2)]  # a file gone is forgotten


def test_recent_files_newest_first_each_once(tmp_path):
    store = MemoryStore()
    recent = RecentFiles(store, limit=3)
    for name in ("a.png", "b.png", "a.png", "c.png", "d.png"):
        recent.add(tmp_path / name)
    assert [p.split("/")[-1] for p in recent.paths()] == ["d.png", "c.png", "a.png"]
    store.setValue("files/recent", [str(tmp_path / "x.png"), str(tmp_path / "." / "x.png")])
    assert len(recent.paths()) == 1  # the same file by another spelling
    (tmp_path / "real.png").write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    recent.add(tmp_path / "real.png")
    recent.add(tmp_path / "link.png")
    assert [p.split("/")[-1] for p in recent.paths()].count("real.png") == 1  # a link is the same file
    (tmp_path / "other").mkdir()
    paths = [str(tmp_path / "a.png"), str(tmp_path / "other" / "a.png"), str(tmp_path / "b.png")]
    assert RecentFiles.labels(paths) == [f"a.png  —  {tmp_path}", f"a.png  —  {tmp_path / 'other'}", "b.png"]
    recent.remove(tmp_path / "real.png")
    assert all(not p.endswith("real.png") for p in recent.paths())
    recent.clear()
    assert recent.paths() == []
