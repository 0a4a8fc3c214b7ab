"""Sparse attention speed and memory: our paths against the released computation, same process.

    python benchmarks/attention.py [--threads 2] [--repeat 3] [--big 400]

Baseline: ``benchmarks/released.py`` (a faithful transcription of the released NLSA: einsum over
chunks with concatenated neighbours, all scores at once). Ours: the reference path (same
algorithm, written step by step) and the blocked path (default; groups of chunks, bounded
memory). Same weights, same input, same seed; results are checked equal before timing.
Targets (issue 7): forward 1x64x100x100 >= 3x faster; peak memory at 1x64x400x400 <= 1/4;
light training step >= 2x faster; 4x the pixels costs <= 4.4x the time.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.released import ReleasedNLSA  # noqa: E402
from core.nlsa import NonLocalSparseAttention  # noqa: E402


def pair(channels: int = 64):
    torch.manual_seed(0)
    ours = NonLocalSparseAttention(channels)
    released = ReleasedNLSA(channels=channels)
    released.load_state_dict(ours.state_dict())
    return ours.eval(), released.eval()


def run_ours(module, x, impl: str):
    module.impl = impl
    return module(x, generator=torch.Generator().manual_seed(0))


def run_released(module, x):
    torch.manual_seed(0)
    return module(x)


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    ours, released = pair()
    with torch.no_grad():
        x = torch.randn(1, 64, args.size, args.size)
        ref = run_released(released, x)
        for impl in ("reference", "blocked", "flash-cpu"):
            diff = (run_ours(ours, x, impl) - ref).abs().max().item()
            print(f"{impl}: max |ours - released| = {diff:.2e}")
        base = timed(lambda: run_released(released, x), args.repeat)
        print(f"forward 1x64x{args.size}x{args.size}: released {base * 1000:.0f} ms")
        for impl in ("reference", "blocked", "flash-cpu"):
            t = timed(lambda: run_ours(ours, x, impl), args.repeat)
            print(f"  {impl:9s} {t * 1000:.0f} ms  -> {base / t:.2f}x faster")
        big = torch.randn(1, 64, 2 * args.size, 2 * args.size)
        t4 = timed(lambda: run_ours(ours, big, "auto"), 1)
        t1 = timed(lambda: run_ours(ours, x, "auto"), 1)
        print(f"scaling: 4x the pixels costs {t4 / t1:.2f}x the time (auto)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
