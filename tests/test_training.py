"""Training engine: recipe, run folder, resume (also after SIGKILL), control, divergence, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from PIL import Image as PILImage

from core.checkpoint import load_model
from core.errors import NLSNError
from core.training import (
    CheckpointEvent,
    DistContext,
    FinishedEvent,
    MessageEvent,
    StepEvent,
    TrainConfig,
    Trainer,
    ValidationEvent,
    read_metrics,
)
from tests.helpers import smooth_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    train, val = base / "train", base / "val"
    train.mkdir()
    val.mkdir()
    for i in range(4):
        PILImage.fromarray(smooth_image(40, 44, seed=i)).save(train / f"t{i}.png")
    for i in range(2):
        PILImage.fromarray(smooth_image(24, 28, seed=10 + i)).save(val / f"v{i}.png")
    return train, val


def tiny_config(folders, **kw) -> TrainConfig:
    train, val = folders
    base = dict(data=[str(train)], val=str(val), scale=2, preset="tiny", iters=6, batch=2, patch=12,
                save_every=3, val_every=3, log_every=1, previews=2)
    base.update(kw)
    return TrainConfig(**base)


def test_defaults_are_the_papers_recipe():
    cfg = TrainConfig(data=["x"])
    assert (cfg.patch, cfg.batch, cfg.lr, cfg.betas, cfg.eps) == (48, 16, 1e-4, (0.9, 0.99), 1e-8)
    assert cfg.augment and cfg.lr_halve_every == 200_000 and cfg.iters == 1_000_000
    assert cfg.lr_at(0) == 1e-4 and cfg.lr_at(199_999) == 1e-4
    assert cfg.lr_at(200_000) == 5e-5 and cfg.lr_at(400_000) == 2.5e-5


def test_config_maps_one_to_one_and_rejects_unknown(tmp_path):
    cfg = TrainConfig(data=["a", "b"], scale=3, model={"n_resblocks": 4})
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg.to_dict()))
    assert TrainConfig.load(path) == cfg
    assert cfg.model_config().n_resblocks == 4 and cfg.model_config().scale == 3
    with pytest.raises(NLSNError, match="unknown training settings: colour"):
        TrainConfig.from_dict({"colour": 1})
    with pytest.raises(NLSNError, match="no training data"):
        TrainConfig().validate()


def test_a_run_writes_everything(folders, tmp_path):
    events = []
    run = tmp_path / "run"
    result = Trainer(tiny_config(folders), run, listener=events.append).run()
    assert result.reason == "completed" and result.step == 6
    assert json.loads((run / "config.json").read_text())["preset"] == "tiny"
    records = read_metrics(run)
    steps = [r for r in records if "loss" in r]
    vals = [r for r in records if "psnr" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]
    assert all({"step", "loss", "lr"} <= set(r) for r in steps)
    assert [r["step"] for r in vals] == [3, 6] and all(10 < r["psnr"] < 60 for r in vals)
    assert (run / "checkpoints" / "last.pt").is_file()
    assert load_model(run / "model_last.safetensors").provenance["step"] == 6
    assert load_model(run / "model_best.safetensors").config.n_feats == 16
    assert len(list((run / "previews").glob("*.png"))) == 2
    assert list((run / "tb").glob("events.out.tfevents.*"))
    kinds = {type(e) for e in events}
    assert {StepEvent, ValidationEvent, CheckpointEvent, MessageEvent, FinishedEvent} <= kinds
    val = next(e for e in events if isinstance(e, ValidationEvent))
    assert len(val.previews) == 2 and val.previews[0].shape == (24, 72, 3)  # LR | SR | HR, 12 LR px x2


def test_loss_goes_down(folders, tmp_path):
    cfg = tiny_config(folders, iters=60, batch=4, lr=2e-3, val=None, save_every=60, log_every=10)
    Trainer(cfg, tmp_path / "run").run()
    losses = [r["loss"] for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert losses[-1] < 0.8 * losses[0]


def _weights(run: Path) -> dict:
    return load_model(run / "model_last.safetensors").model.state_dict()


def test_stop_then_resume_equals_an_uninterrupted_run(folders, tmp_path):
    cfg = tiny_config(folders, iters=8, val=None, save_every=100)
    Trainer(cfg, tmp_path / "straight").run()

    holder = {}

    def stop_at_4(event):
        if isinstance(event, StepEvent) and event.step == 4:
            holder["t"].stop()

    holder["t"] = Trainer(cfg, tmp_path / "split", listener=stop_at_4)
    first = holder["t"].run()
    assert first.reason == "stopped" and first.step == 4
    second = Trainer(None, tmp_path / "split", resume=True).run()
    assert second.reason == "completed" and second.step == 8
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [r["step"] for r in read_metrics(tmp_path / "split")] == list(range(1, 9))


def test_pause_resume_and_stop_from_another_thread(folders, tmp_path):
    cfg = tiny_config(folders, iters=100_000, val=None, save_every=100_000)
    steps = []
    trainer = Trainer(cfg, tmp_path / "run", listener=lambda e: steps.append(e.step) if isinstance(e, StepEvent) else None)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    deadline = time.time() + 60
    while len(steps) < 3 and time.time() < deadline:
        time.sleep(0.01)
    trainer.pause()  # takes effect when the current step ends
    while trainer.state != "paused" and time.time() < deadline:
        time.sleep(0.01)
    paused_at = trainer.step
    time.sleep(0.5)
    assert trainer.step == paused_at and trainer.state == "paused"
    trainer.resume()
    while trainer.step < paused_at + 3 and time.time() < deadline:
        time.sleep(0.01)
    t0 = time.time()
    trainer.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.time() - t0 < 1.0 + 0.5  # stop + checkpoint
    assert trainer.state == "stopped"
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == trainer.step


def test_stop_interrupts_a_long_step(folders, tmp_path):
    # The light model takes seconds per step on a CPU; stop() must not wait for the step to end.
    big = tmp_path / "big"
    big.mkdir()
    PILImage.fromarray(smooth_image(100, 100, seed=5)).save(big / "b.png")
    cfg = tiny_config(folders, data=[str(big)], preset="light", iters=10, batch=16, patch=48, val=None,
                      save_every=100)
    steps = []
    trainer = Trainer(cfg, tmp_path / "run", listener=lambda e: isinstance(e, StepEvent) and steps.append(e))
    thread = threading.Thread(target=trainer.run)
    thread.start()
    deadline = time.time() + 60
    while not steps and time.time() < deadline:
        time.sleep(0.01)
    assert steps and trainer.state == "running"
    time.sleep(0.5)  # inside the second (multi-second) step
    t0 = time.time()
    trainer.stop()
    thread.join(timeout=30)
    assert time.time() - t0 < 2.0 and trainer.state == "stopped"


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(folders, tmp_path, monkeypatch):
    import core.training as training

    real = training.F.l1_loss
    calls = {"n": 0}

    class FakeF:
        @staticmethod
        def l1_loss(a, b):
            calls["n"] += 1
            return real(a, b) * (float("nan") if calls["n"] >= 5 else 1.0)

    monkeypatch.setattr(training, "F", FakeF)
    events = []
    result = Trainer(tiny_config(folders, iters=20, save_every=2, val=None), tmp_path / "run", listener=events.append).run()
    assert result.reason == "diverged" and result.step == 4
    assert "nan" in result.message.lower() and "last good checkpoint" in result.message
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["step"] == 4


def test_a_second_run_in_the_same_folder_is_refused(folders, tmp_path):
    Trainer(tiny_config(folders, iters=1, val=None), tmp_path / "run").run()
    with pytest.raises(NLSNError, match="already holds a run"):
        Trainer(tiny_config(folders, iters=1, val=None), tmp_path / "run").run()


def test_unreadable_training_images_are_skipped_with_a_warning(folders, tmp_path):
    train, _ = folders
    data = tmp_path / "data"
    data.mkdir()
    for p in train.iterdir():
        (data / p.name).write_bytes(p.read_bytes())
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    events = []
    result = Trainer(tiny_config((data, None), iters=2, val=None), tmp_path / "run", listener=events.append).run()
    assert result.reason == "completed"
    assert any(isinstance(e, MessageEvent) and e.level == "warning" and "broken.png" in e.text for e in events)


def test_init_from_a_x2_model_for_x3(folders, tmp_path):
    Trainer(tiny_config(folders, iters=2, val=None), tmp_path / "x2").run()
    events = []
    cfg = tiny_config(folders, scale=3, iters=1, val=None, init_from=str(tmp_path / "x2" / "model_last.safetensors"))
    Trainer(cfg, tmp_path / "x3", listener=events.append).run()
    assert any(isinstance(e, MessageEvent) and "upsampler starts fresh" in e.text for e in events)


def _ddp_worker(rank: int, world: int, init_file: str, cfg_json: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        cfg = TrainConfig.from_dict(json.loads(cfg_json))
        trainer = Trainer(cfg, Path(out) / "run", dist=DistContext(rank=rank, world_size=world))
        trainer.run()
        # Each rank's own weights, to compare.
        torch.save({k: v.detach().clone() for k, v in trainer.model.state_dict().items()}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_keeps_ranks_identical(folders, tmp_path):
    import torch.multiprocessing as mp

    cfg = tiny_config(folders, iters=4, batch=4, val=None, save_every=100)
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "pg"), json.dumps(cfg.to_dict()), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a and set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [1, 2, 3, 4]  # rank 0 alone logs
    saved = load_model(tmp_path / "run" / "model_last.safetensors").model.state_dict()
    assert all(torch.equal(saved[k], a[k]) for k in a)


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli", "train", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_sigkilled_cli_run_resumes_and_finishes(folders, tmp_path):
    train, _ = folders
    run = tmp_path / "run"
    args = ["--data", str(train), "--scale", "2", "--preset", "tiny", "--iters", "300", "--batch", "2",
            "--patch", "12", "--save-every", "10", "--log-every", "5", "--no-val", "--out", str(run)]
    proc = _cli(*args)
    ckpt = run / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline:
        if ckpt.exists():
            try:
                if torch.load(ckpt, weights_only=True)["step"] >= 30:
                    break
            except Exception:  # noqa: BLE001 - being replaced right now
                pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(ckpt, weights_only=True)["step"]
    assert 30 <= killed_at < 300
    done = subprocess.run([sys.executable, "-m", "core.cli", "train", "--resume", str(run)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resumed run at step {killed_at}" in done.stderr
    steps = [r["step"] for r in read_metrics(run)]
    assert steps == list(range(5, 301, 5))
    assert torch.load(ckpt, weights_only=True)["step"] == 300
