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

from core.checkpoints import load_model
from core.base.errors import NLSNError
from core.train import (
    CheckpointEvent,
    DataEvent,
    DistContext,
    FinishedEvent,
    MessageEvent,
    StepEvent,
    TrainConfig,
    Trainer,
    ValidationEvent,
    RunFolder,
)
from core.reference.images import smooth_image, training_folders

from tests.paths import ROOT  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return training_folders(tmp_path_factory.mktemp("data"))


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


def test_warmup_ramps_the_learning_rate_then_follows_the_schedule():
    cfg = TrainConfig(data=["x"], lr=2e-4, warmup=3, lr_halve_every=10)
    assert [cfg.lr_at(s) for s in range(5)] == pytest.approx([5e-5, 1e-4, 1.5e-4, 2e-4, 2e-4])
    assert cfg.lr_at(10) == pytest.approx(1e-4) and TrainConfig().warmup == 0
    with pytest.raises(NLSNError, match="warmup"):
        TrainConfig(data=["x"], warmup=-1).validate()


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
    records = RunFolder(run).read_metrics()
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
    losses = [r["loss"] for r in RunFolder(tmp_path / "run").read_metrics() if "loss" in r]
    assert losses[-1] < 0.8 * losses[0]


def test_bf16_mixed_precision_trains_with_fp32_weights(folders, tmp_path):
    events = []
    cfg = tiny_config(folders, iters=60, batch=4, lr=2e-3, save_every=60, val_every=60, log_every=10,
                      precision="bf16")
    result = Trainer(cfg, tmp_path / "bf16", listener=events.append).run()
    assert result.reason == "completed"
    assert any(isinstance(e, MessageEvent) and "bf16 mixed precision" in e.text for e in events)
    records = RunFolder(tmp_path / "bf16").read_metrics()
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.8 * losses[0]
    assert 10 < next(r["psnr"] for r in records if "psnr" in r) < 60  # validated in fp32
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["precision"] == "bf16"
    state = load_model(tmp_path / "bf16" / "model_last.safetensors").model.state_dict()
    assert all(v.dtype == torch.float32 for v in state.values())
    # The first step's loss comes from the same initial weights and patches in both precisions.
    Trainer(tiny_config(folders, iters=1, val=None, log_every=1, precision="fp32"), tmp_path / "a").run()
    Trainer(tiny_config(folders, iters=1, val=None, log_every=1, precision="bf16"), tmp_path / "b").run()
    first = [RunFolder(tmp_path / run).read_metrics()[0]["loss"] for run in ("a", "b")]
    assert first[0] == pytest.approx(first[1], rel=0.02)
    with pytest.raises(NLSNError, match="precision must be one of fp32, bf16"):
        TrainConfig(data=["x"], precision="fp16").validate()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda_learns_and_saves_fp32_weights(folders, tmp_path, precision):
    # What to check before a long GPU run (docs/training-on-a-gpu.md): the engine trains
    # on the GPU in both precisions, validates, and saves fp32 weights that load on the CPU.
    cfg = tiny_config(folders, iters=60, batch=4, lr=2e-3, save_every=60, val_every=60, log_every=10,
                      device="cuda", precision=precision)
    result = Trainer(cfg, tmp_path / precision).run()
    assert result.reason == "completed"
    records = RunFolder(tmp_path / precision).read_metrics()
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.8 * losses[0]
    assert 10 < next(r["psnr"] for r in records if "psnr" in r) < 60
    state = load_model(tmp_path / precision / "model_last.safetensors").model.state_dict()
    assert all(v.dtype == torch.float32 and v.device.type == "cpu" for v in state.values())


def _weights(run: Path) -> dict:
    return load_model(run / "model_last.safetensors").model.state_dict()


def _run_until(cfg: TrainConfig, run: Path, *, stop_at: int) -> FinishedEvent:
    """A run stopped (as by the Stop button) once step ``stop_at`` is done."""
    holder = {}

    def stop(event):
        if isinstance(event, StepEvent) and event.step == stop_at:
            holder["trainer"].stop()

    holder["trainer"] = Trainer(cfg, run, listener=stop)
    return holder["trainer"].run()


def test_stop_then_resume_equals_an_uninterrupted_run(folders, tmp_path):
    cfg = tiny_config(folders, iters=8, val=None, save_every=100)
    Trainer(cfg, tmp_path / "straight").run()
    first = _run_until(cfg, tmp_path / "split", stop_at=4)
    assert first.reason == "stopped" and first.step == 4
    second = Trainer(None, tmp_path / "split", resume=True).run()
    assert second.reason == "completed" and second.step == 8
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [r["step"] for r in RunFolder(tmp_path / "split").read_metrics()] == list(range(1, 9))


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


def test_between_steps_serves_others_and_is_no_training_time(folders, tmp_path):
    """The app's hook: called before every step and while paused; its time is not the run's."""
    cfg = tiny_config(folders, iters=4, val=None, save_every=100)
    Trainer(cfg, tmp_path / "straight").run()
    calls = []

    def serve():
        calls.append(time.perf_counter())
        time.sleep(0.2)  # someone else's job

    trainer = Trainer(cfg, tmp_path / "served", between_steps=serve)
    assert trainer.run().reason == "completed"
    assert len(calls) == 4  # once before each step
    assert trainer._idle_s >= 0.8 and trainer._elapsed() < time.perf_counter() - calls[0] - 0.6
    rates = [r["it_s"] for r in RunFolder(tmp_path / "served").read_metrics()]
    assert min(rates) > 1 / 0.2  # the speed is the training's own, not diluted by the 0.2 s jobs
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "served")
    assert all(torch.equal(a[k], b[k]) for k in a)  # serving changes nothing of the run


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


def test_stop_while_preparing_the_data_is_quick_and_resumable(folders, tmp_path, monkeypatch):
    import core.data.images

    real = core.data.images._make_pair
    monkeypatch.setattr(core.data.images, "_make_pair", lambda *a: time.sleep(0.3) or real(*a))  # slow images
    events, holder = [], {}

    def listen(event):
        events.append(event)
        if isinstance(event, DataEvent) and event.done == 1:
            holder["asked"] = time.perf_counter()
            holder["t"].stop()

    from core.train import warm_up

    assert warm_up().wait(60)  # the first optimizer's imports (1.6 s, once), as the GUI does
    run = tmp_path / "run"
    holder["t"] = Trainer(tiny_config(folders, iters=4, val=None), run, listener=listen)
    result = holder["t"].run()
    assert result.reason == "stopped" and result.step == 0 and "preparing" in result.message
    assert time.perf_counter() - holder["asked"] < 1.0
    data = [e for e in events if isinstance(e, DataEvent)]
    assert data[0] == DataEvent(0, 4) and data[-1].done < 4
    assert not any(isinstance(e, StepEvent) for e in events)
    resumed = Trainer(None, run, resume=True, listener=events.append).run()
    assert resumed.reason == "completed" and resumed.step == 4
    assert events[-1] is resumed and DataEvent(4, 4) in events


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(folders, tmp_path, monkeypatch):
    import core.train.trainer as training

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


def test_init_from_the_same_scale_keeps_the_upsampler_another_scale_does_not(folders, tmp_path):
    Trainer(tiny_config(folders, iters=2, val=None), tmp_path / "x2").run()
    source_file = tmp_path / "x2" / "model_last.safetensors"
    source = load_model(source_file).model.state_dict()
    events = []
    same = Trainer(tiny_config(folders, init_from=str(source_file), seed=5), tmp_path / "again", listener=events.append)
    weights = same._build_model().state_dict()
    assert all(torch.equal(weights[k], source[k]) for k in source)  # the tail too: a continuation
    assert any(isinstance(e, MessageEvent) and f"{len(source)} of {len(source)} tensors" in e.text for e in events)
    x4 = Trainer(tiny_config(folders, scale=4, init_from=str(source_file)), tmp_path / "x4")._build_model().state_dict()
    assert x4["tail.0.0.weight"].shape == source["tail.0.0.weight"].shape  # same shape, other job:
    assert not torch.equal(x4["tail.0.0.weight"], source["tail.0.0.weight"])  # x4 starts it fresh
    assert torch.equal(x4["head.0.weight"], source["head.0.weight"])


def _raw_weights(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["model"]


def test_weight_ema_is_what_is_validated_and_saved(folders, tmp_path):
    # decay 0.5 over two steps: average = 0.25 w0 + 0.25 w1 + 0.5 w2 (w0 the initial weights)
    w0 = Trainer(tiny_config(folders, val=None), tmp_path / "init")._build_model().state_dict()
    Trainer(tiny_config(folders, iters=1, val=None), tmp_path / "one").run()
    w1 = _weights(tmp_path / "one")
    Trainer(tiny_config(folders, iters=2, val=None, ema_decay=0.5), tmp_path / "ema").run()
    w2 = _raw_weights(tmp_path / "ema")
    saved = load_model(tmp_path / "ema" / "model_last.safetensors")
    for k in w0:
        expected = 0.25 * w0[k] + 0.25 * w1[k] + 0.5 * w2[k]
        assert torch.allclose(saved.model.state_dict()[k], expected, atol=1e-6), k
    assert any(not torch.equal(saved.model.state_dict()[k], w2[k]) for k in w2)  # not the raw weights
    assert saved.provenance["ema_decay"] == 0.5
    assert "ema_decay" not in load_model(tmp_path / "one" / "model_last.safetensors").provenance
    # Validation scores the average: its PSNR is that of model_best, which is the average too.
    events = []
    cfg = tiny_config(folders, iters=3, val_every=3, save_every=3, ema_decay=0.9)
    Trainer(cfg, tmp_path / "val", listener=events.append).run()
    best = load_model(tmp_path / "val" / "model_best.safetensors").model.state_dict()
    last = load_model(tmp_path / "val" / "model_last.safetensors").model.state_dict()
    assert all(torch.equal(best[k], last[k]) for k in best)
    raw = _raw_weights(tmp_path / "val")
    assert any(not torch.equal(best[k], raw[k]) for k in raw)  # the validated model is not the raw one
    assert any(isinstance(e, ValidationEvent) for e in events)
    for bad in (1.0, -0.1):
        with pytest.raises(NLSNError, match="ema_decay"):
            TrainConfig(data=["x"], ema_decay=bad).validate()
    assert TrainConfig().ema_decay == 0.0  # off by default, as the paper


def test_weight_ema_resumes_like_an_uninterrupted_run(folders, tmp_path):
    cfg = tiny_config(folders, iters=8, val=None, save_every=100, ema_decay=0.7)
    Trainer(cfg, tmp_path / "straight").run()
    assert _run_until(cfg, tmp_path / "split", stop_at=4).step == 4
    assert Trainer(None, tmp_path / "split", resume=True).run().step == 8
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # Switched on when resuming a run that had none: the average starts from the current weights.
    Trainer(tiny_config(folders, iters=4, val=None, save_every=100), tmp_path / "plain").run()
    events = []
    later = TrainConfig.from_dict({**TrainConfig.load(tmp_path / "plain" / "config.json").to_dict(),
                                   "iters": 5, "ema_decay": 0.5})
    Trainer(later, tmp_path / "plain", resume=True, listener=events.append).run()
    assert any(isinstance(e, MessageEvent) and "no weight average" in e.text for e in events)
    assert load_model(tmp_path / "plain" / "model_last.safetensors").provenance["ema_decay"] == 0.5


def test_snapshots_are_kept_and_average_into_one_model(folders, tmp_path, capsys):
    from core.base.errors import CheckpointError
    from core.checkpoints import average_models, save_model
    from core.cli import main
    from core.network import NLSN, preset

    run = tmp_path / "run"
    Trainer(tiny_config(folders, iters=6, val=None, save_every=3, keep_every=2), run).run()
    snaps = sorted((run / "snapshots").glob("*.safetensors"))
    assert [p.name for p in snaps] == [f"step_0000000{i}.safetensors" for i in (2, 4, 6)]
    assert all(torch.equal(load_model(snaps[-1]).model.state_dict()[k], v) for k, v in _weights(run).items())
    states = [load_model(p).model.state_dict() for p in snaps]
    averaged = average_models(snaps)
    for key, value in averaged.model.state_dict().items():
        assert torch.allclose(value, sum(s[key] for s in states) / 3, atol=1e-7), key
    assert averaged.provenance["step"] == 6 and averaged.provenance["averaged"] == [p.name for p in snaps]
    # The command line writes the same model.
    out = tmp_path / "avg.safetensors"
    assert main(["average", *map(str, snaps), "--out", str(out)]) == 0
    saved = load_model(out)
    assert all(torch.equal(saved.model.state_dict()[k], v) for k, v in averaged.model.state_dict().items())
    assert saved.provenance["averaged"] == [p.name for p in snaps]
    # Wrong input: one line each, nothing written.
    with pytest.raises(CheckpointError, match="at least two"):
        average_models(snaps[:1])
    other = tmp_path / "x3.safetensors"
    save_model(other, NLSN(preset("tiny", scale=3)))
    with pytest.raises(CheckpointError, match="another configuration than step_00000002.safetensors .*scale 2 / 3"):
        average_models([snaps[0], other])
    capsys.readouterr()
    assert main(["average", str(snaps[0]), str(other), "--out", str(tmp_path / "bad.safetensors")]) != 0
    assert main(["average", *map(str, snaps), "--out", str(tmp_path / "avg.png")]) != 0
    assert main(["average", str(snaps[0]), str(tmp_path / "missing.safetensors"), "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "only models of one configuration" in err and "written as a .safetensors" in err
    assert "missing.safetensors: model file not found" in err and "Traceback" not in err
    assert not (tmp_path / "bad.safetensors").exists() and not (tmp_path / "avg.png").exists()
    # The target may be one of the inputs: every input is read before it is replaced.
    from core.checkpoints import write_average

    written = write_average(snaps, snaps[-1])
    assert written.path == snaps[-1] and written.source == "project"
    assert all(torch.equal(load_model(snaps[-1]).model.state_dict()[k], v)
               for k, v in averaged.model.state_dict().items())
    with pytest.raises(NLSNError, match="keep_every"):
        TrainConfig(data=["x"], keep_every=-1).validate()


def _ddp_worker(rank: int, world: int, init_file: str, cfg_json: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        cfg = TrainConfig.from_dict(json.loads(cfg_json))
        trainer = Trainer(cfg, Path(out) / "run", dist=DistContext(rank=rank, world_size=world))
        trainer.run()
        # Each rank's own weights, to compare.
        for name, net in (("rank", trainer.model), ("ema", trainer.ema_model)):
            torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, Path(out) / f"{name}{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_process_ddp_keeps_ranks_identical(folders, tmp_path):
    import torch.multiprocessing as mp

    cfg = tiny_config(folders, iters=4, batch=4, val=None, save_every=100, ema_decay=0.5)
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "pg"), json.dumps(cfg.to_dict()), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a and set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in RunFolder(tmp_path / "run").read_metrics()] == [1, 2, 3, 4]  # rank 0 alone logs
    # The weight average too is the same on every rank, and it is what rank 0 saved.
    ema = [torch.load(tmp_path / f"ema{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert all(torch.equal(ema[0][k], ema[1][k]) for k in a)
    saved = load_model(tmp_path / "run" / "model_last.safetensors").model.state_dict()
    assert all(torch.equal(saved[k], ema[0][k]) for k in a)
    assert any(not torch.equal(saved[k], a[k]) for k in a)


def test_precision_from_the_command_line_also_on_resume(folders, tmp_path):
    from core.cli.parser import build_parser
    from core.cli.train import train_config as _train_config
    from core.train import bf16_problem

    train, _ = folders
    parse = build_parser().parse_args
    args = parse(["train", "--data", str(train), "--precision", "bf16", "--no-val", "--out", str(tmp_path / "r")])
    config = _train_config(args)
    assert config.precision == "bf16" and TrainConfig(data=["x"]).precision == "fp32"
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text(json.dumps(config.to_dict()))
    assert _train_config(parse(["train", "--resume", str(tmp_path / "r")])).precision == "bf16"
    assert _train_config(parse(["train", "--resume", str(tmp_path / "r"), "--precision", "fp32"])).precision == "fp32"
    assert _train_config(parse(["train", "--resume", str(tmp_path / "r"), "--ema-decay", "0.999"])).ema_decay == 0.999
    assert _train_config(parse(["train", "--resume", str(tmp_path / "r"), "--keep-every", "25"])).keep_every == 25
    level, text = bf16_problem(torch.device("mps"))
    assert level == "error" and "precision fp32" in text


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
    steps = [r["step"] for r in RunFolder(run).read_metrics()]
    assert steps == list(range(5, 301, 5))
    assert torch.load(ckpt, weights_only=True)["step"] == 300


# --------------------------------------------------------------------------- for the GUI: RunHistory

import numpy as np  # noqa: E402


def test_stop_during_a_validation_stops_cleanly_with_a_checkpoint(folders, tmp_path, monkeypatch):
    import core.train.validation as evaluation

    real = evaluation.evaluate
    holder = {}

    def stop_then_evaluate(*args, **kwargs):
        holder["t"].stop()  # arrives while the validation runs the network
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", stop_then_evaluate)
    holder["t"] = Trainer(tiny_config(folders, iters=100, val_every=3, save_every=100), tmp_path / "run")
    result = holder["t"].run()
    assert result.reason == "stopped" and result.step == 3
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3


def test_run_history_records_a_run_like_its_metrics(folders, tmp_path):
    from core.train import RunHistory, smooth, stack_previews

    history = RunHistory(tmp_path / "run")
    events = []
    Trainer(tiny_config(folders, iters=6), tmp_path / "run", listener=lambda e: (events.append(e), history(e))).run()
    snap = history.snapshot()
    records = RunFolder(tmp_path / "run").read_metrics()
    train = [r for r in records if "loss" in r]
    vals = [r for r in records if "psnr" in r]
    assert snap.steps.tolist() == [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    assert np.allclose(snap.losses, [r["loss"] for r in train], atol=1e-6)
    assert np.allclose(snap.lrs, [r["lr"] for r in train])
    assert snap.val_steps.tolist() == [3, 6] and np.allclose(snap.psnr, [r["psnr"] for r in vals], atol=1e-4)
    assert snap.state == "completed" and snap.step == 6 and snap.iters == 6 and snap.checkpoint_step == 6
    assert snap.best_psnr == max(snap.psnr) and snap.best_step in (3, 6)
    assert snap.preview_steps == [3, 6] and history.messages()
    # the previews are the strips stacked exactly as the run's preview files
    from core.image import load_image

    for i, step in enumerate(snap.preview_steps):
        assert np.array_equal(history.preview(i), load_image(tmp_path / "run" / "previews" / f"{step:08d}.png").pixels)
    strips = next(e for e in events if isinstance(e, ValidationEvent)).previews
    assert np.array_equal(stack_previews(strips), history.preview(0))
    # the EMA is computed incrementally and equals the one-shot version
    assert np.allclose(history.ema(0.6), smooth(snap.losses, 0.6))
    assert smooth([2.0, 2.0, 2.0], 0.9).tolist() == pytest.approx([2.0, 2.0, 2.0])  # debiased
    assert smooth([1.0, 3.0], 0.0).tolist() == [1.0, 3.0]

    reopened = RunHistory.from_metrics(tmp_path / "run")
    again = reopened.snapshot()
    assert again.steps.tolist() == snap.steps.tolist() and np.allclose(again.losses, snap.losses, atol=1e-6)
    assert again.val_steps.tolist() == [3, 6] and again.state == "completed" and again.iters == 6
    assert reopened.config["preset"] == "tiny"
    assert np.array_equal(reopened.preview(1), history.preview(1))
    assert reopened.update_from_metrics() is False  # nothing new


def test_run_history_shows_the_data_preparation_until_the_first_step():
    from core.train import RunHistory

    history = RunHistory()
    history(DataEvent(0, 5))
    history(DataEvent(3, 5))
    assert history.snapshot().preparing == (3, 5)
    history(StepEvent(1, 10, 0.1, 1e-4, 1.0, 9.0, 0))
    assert history.snapshot().preparing is None


def test_run_history_follows_a_growing_metrics_file_and_resumes(tmp_path):
    from core.train import RunHistory

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"iters": 10, "scale": 2}))
    lines = [{"step": s, "loss": 1.0 / s, "lr": 1e-4, "it_s": 5.0, "time": 0} for s in (1, 2, 3)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 4, "lo')
    history = RunHistory.from_metrics(run)
    assert history.snapshot().steps.tolist() == [1, 2, 3] and history.state == "stopped"
    version = history.version
    with open(run / "metrics.jsonl", "a") as fh:  # the cut line is completed, more follow
        fh.write('ss": 0.25, "lr": 1e-4, "it_s": 5.0, "time": 0}\n{"step": 4, "psnr": 30.0, "ssim": 0.9, "time": 0}\n')
    assert history.update_from_metrics() and history.version > version
    snap = history.snapshot()
    assert snap.steps.tolist() == [1, 2, 3, 4] and snap.val_steps.tolist() == [4]
    # a resumed run redoes steps after its checkpoint: later records are replaced
    history(StepEvent(3, 10, 0.5, 1e-4, 5.0, 1.0, 0))
    snap = history.snapshot()
    assert snap.steps.tolist() == [1, 2, 3] and snap.losses[-1] == 0.5 and snap.val_steps.tolist() == []
    history(FinishedEvent(3, "stopped", "stopped"))
    assert history.state == "stopped"
    with pytest.raises(NLSNError, match="not a training run"):
        RunHistory.from_metrics(tmp_path)
    with pytest.raises(NLSNError, match="not found"):
        RunHistory.from_metrics(tmp_path / "nowhere")


def test_run_history_is_fed_from_another_thread(tmp_path):
    from core.train import RunHistory

    history = RunHistory(max_previews=5)
    strip = np.zeros((4, 12, 3), np.uint8)

    def feed():
        for s in range(1, 2001):
            history(StepEvent(s, 2000, 1.0, 1e-4, 1.0, 0.0, 0))
            if s % 100 == 0:
                history(ValidationEvent(s, 30.0, 0.9, 30.0, False, [strip]))

    thread = threading.Thread(target=feed)
    thread.start()
    while thread.is_alive():
        snap = history.snapshot()
        assert len(snap.steps) == len(snap.losses) == len(snap.lrs)
        history.ema(0.9)
    thread.join()
    snap = history.snapshot()
    assert len(snap.steps) == 2000 and snap.preview_steps == [1600, 1700, 1800, 1900, 2000]  # the last N kept
    assert history.preview(0).shape == (6, 12, 3) and len(history.ema(0.9)) == 2000


def test_check_setup_explains_what_is_wrong(folders, tmp_path):
    from core.train import check_setup

    train, val = folders
    good = tiny_config(folders)
    check_setup(good, tmp_path / "new")
    with pytest.raises(NLSNError, match="training folder not found"):
        check_setup(tiny_config(folders, data=[str(tmp_path / "missing")]), tmp_path / "new")
    with pytest.raises(NLSNError, match="validation folder not found"):
        check_setup(tiny_config(folders, val=str(tmp_path / "nope")), tmp_path / "new")
    with pytest.raises(NLSNError, match="unknown configuration"):
        check_setup(tiny_config(folders, preset="huge"), tmp_path / "new")
    with pytest.raises(NLSNError, match="batch must be positive"):
        check_setup(tiny_config(folders, batch=0), tmp_path / "new")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text("{}")
    with pytest.raises(NLSNError, match="already holds a run"):
        check_setup(good, tmp_path / "old")
    check_setup(good, tmp_path / "old", resume=True)
    with pytest.raises(NLSNError, match="not a training run"):
        check_setup(good, tmp_path / "new", resume=True)
    with pytest.raises(NLSNError, match="none.safetensors: model file not found"):
        check_setup(tiny_config(folders, init_from=str(tmp_path / "none.safetensors")), tmp_path / "new")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(NLSNError, match="junk.pt: not a PyTorch checkpoint"):
        check_setup(tiny_config(folders, init_from=str(tmp_path / "junk.pt")), tmp_path / "new")
    light = ROOT / "resources" / "models" / "nlsn-light-x2.safetensors"
    with pytest.raises(NLSNError, match="64 features and 16 blocks; the tiny configuration has 16 features"):
        check_setup(tiny_config(folders, init_from=str(light)), tmp_path / "new")
    check_setup(tiny_config(folders, preset="light", init_from=str(light)), tmp_path / "new")
    check_setup(tiny_config(folders, preset="light", scale=3, init_from="nlsn-light-x2"), tmp_path / "new")


def test_a_step_is_timed_without_touching_the_global_rng():
    from core.train import estimate_step

    state = torch.random.get_rng_state()
    small = estimate_step(TrainConfig(preset="tiny", batch=1, patch=12))
    large = estimate_step(TrainConfig(preset="tiny", batch=64, patch=12))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert small.device == "cpu" and 0 < small.seconds < large.seconds  # 64 patches: scaled from 4
    assert large.run_seconds(1000) == pytest.approx(1000 * large.seconds)


def test_validation_leaves_the_trained_weights_as_they_were(folders, tmp_path):
    from core.train.validation import validate

    train, val = folders
    torch.manual_seed(0)
    from core.network import NLSN, preset

    model = NLSN(preset("tiny", scale=2)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    validate(model, device=torch.device("cpu"), folder=Path(val), scale=2, previews=0, preview_path=tmp_path / "p.png")
    assert model.training
    for key, value in model.state_dict().items():
        assert value.is_contiguous() and torch.equal(value, before[key]), key  # not left channels-last
