"""Training speed of the engine by precision: fp32 (the paper's, baseline) against bf16 mixed.

    python benchmarks/training_speed.py [--preset light] [--threads 2] [--steps 12] [--device cpu]

Both runs go through ``core.train.Trainer`` exactly as ``nlsn train`` does (data sampling,
forward with the fast attention path, L1, backward, Adam), on images made in code, with the same
seed, preset, batch (16) and patch (48). The rate is the engine's own ``it_s`` over the steps after
the first log window (warm-up excluded). Also printed: how far apart the two first-step losses
are (same weights, same patches), the price of bf16 in the forward.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.train import RunFolder, TrainConfig, Trainer, bf16_problem  # noqa: E402
from core.reference.images import training_folders  # noqa: E402


def run(train: Path, out: Path, *, precision: str, args: argparse.Namespace) -> tuple[float, float]:
    """(steps per second after warm-up, loss of the first step) of one short run."""
    window = max(1, args.steps // 4)
    config = TrainConfig(data=[str(train)], scale=args.scale, preset=args.preset, iters=args.steps,
                         batch=args.batch, patch=args.patch, val=None, log_every=window,
                         save_every=10**9, precision=precision, device=args.device, threads=args.threads)
    Trainer(config, out).run()
    records = [r for r in RunFolder(out).read_metrics() if "it_s" in r]
    rates = [r["it_s"] for r in records[1:]] or [records[0]["it_s"]]
    first = Trainer(TrainConfig(**{**config.to_dict(), "iters": 1, "log_every": 1}), out.with_name(out.name + "-1"))
    first.run()
    return sum(rates) / len(rates), RunFolder(first.run_dir).read_metrics()[0]["loss"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="light")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    problem = bf16_problem(device)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
          f"{args.threads} threads, device {args.device}"
          + (f" ({problem[1]})" if problem else ", native bf16"))
    if problem and problem[0] == "error":
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = args.patch * args.scale + 8
        train, _ = training_folders(root / "data", n_train=8, train_size=(size, size + 4), n_val=0)
        fp32, loss32 = run(train, root / "fp32", precision="fp32", args=args)
        bf16, loss16 = run(train, root / "bf16", precision="bf16", args=args)
    print(f"training step, {args.preset} x{args.scale}, {args.batch}x{args.patch}x{args.patch} "
          f"(fwd + bwd + Adam, through Trainer):")
    print(f"  fp32 {1 / fp32:.2f} s/step, bf16 mixed {1 / bf16:.2f} s/step -> {bf16 / fp32:.2f}x faster")
    print(f"  first-step loss: fp32 {loss32:.5f}, bf16 {loss16:.5f} ({abs(loss16 / loss32 - 1) * 100:.2f} % apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
