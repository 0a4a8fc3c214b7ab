"""The fast attention path under bf16 mixed precision: this checkout against an earlier revision.

    python benchmarks/attention_bf16.py [--baseline 6af3903] [--threads 2] [--repeat 10]

The baseline is ``core/nlsa.py`` as committed at ``--baseline`` (read with ``git show``, imported
beside this checkout's), so both run in the same process on the same inputs, alternately:

1. one NLSA's window attention, forward + backward, on the shapes of a `light` training batch
   (16 patches of 48x48: 1 152 windows of 144 queries, match embedding 16, assembly 64);
2. a whole bf16 training step of `light` x2 (forward, L1, backward, Adam) with the baseline's
   window attention and round combination swapped in.

Printed: medians and the ratio baseline / this checkout, and how close each is to an fp32
computation on the same bf16 inputs (relative L2 error of out, lse, dq, dk, dv).
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from core import nlsa  # noqa: E402
from core.network import NLSN, preset  # noqa: E402


def load_baseline(rev: str, tmp: Path):
    source = subprocess.run(["git", "show", f"{rev}:core/nlsa.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = tmp / "nlsa_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("nlsa_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def window_inputs(gen: torch.Generator, windows: int = 1152, chunk: int = 144):
    q = (torch.randn(windows, chunk, 16, generator=gen) * 3).bfloat16()  # (T, k, C)
    k = F.normalize(torch.randn(windows, chunk, 16, generator=gen), dim=-1).bfloat16()  # (T, k, C)
    v = torch.randn(windows, chunk, 64, generator=gen).bfloat16()  # (T, k, Cy)
    grad_out = torch.randn(windows, chunk, 64, generator=gen).bfloat16()
    grad_lse = torch.randn(windows, chunk, generator=gen)
    return (q, k, v), grad_out, grad_lse


def attend(function, inputs, grad_out, grad_lse, dtype):
    """(seconds, [out, lse, dq, dk, dv] as fp32 without the two unused end chunks)."""
    leaves = [x.to(dtype, copy=True).requires_grad_() for x in inputs]
    start = time.perf_counter()
    out, lse = function.apply(*leaves, None)
    torch.autograd.backward([out, lse], [grad_out.to(out.dtype), grad_lse.to(lse.dtype)])
    seconds = time.perf_counter() - start
    return seconds, [x.detach().float()[1:-1] for x in (out, lse, *(leaf.grad for leaf in leaves))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="6af3903", help="git revision of the baseline core/nlsa.py")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
          f"{args.threads} threads; baseline: core/nlsa.py at {args.baseline}")
    with tempfile.TemporaryDirectory() as tmp:
        base = load_baseline(args.baseline, Path(tmp))
    versions = {"baseline": (base._WindowAttention, base.combine_rounds),
                "this checkout": (nlsa._WindowAttention, nlsa.combine_rounds)}

    inputs, grad_out, grad_lse = window_inputs(torch.Generator().manual_seed(0))
    _, reference = attend(nlsa._WindowAttention, inputs, grad_out, grad_lse, torch.float32)
    times: dict[str, list[float]] = {name: [] for name in versions}
    errors: dict[str, list[float]] = {}
    for i in range(args.repeat + 1):
        for name, (function, _) in versions.items():
            seconds, got = attend(function, inputs, grad_out, grad_lse, torch.bfloat16)
            if i:  # the first round warms up
                times[name].append(seconds)
            errors[name] = [((a - b).norm() / b.norm()).item() for a, b in zip(got, reference)]
    print("\none NLSA's window attention, forward + backward (1 152 windows of 144, bf16):")
    for name in versions:
        print(f"  {name:14s} {median(times[name]):.3f} s   error vs fp32: "
              + ", ".join(f"{n} {e:.4f}" for n, e in zip(("out", "lse", "dq", "dk", "dv"), errors[name])))
    ratio = median(times["baseline"]) / median(times["this checkout"])
    print(f"  ratio: {ratio:.2f}x faster than the baseline")

    torch.manual_seed(0)
    model = NLSN(preset("light", scale=2))
    optimizer = torch.optim.Adam(model.parameters(), 1e-4, betas=(0.9, 0.99), eps=1e-8)
    gen = torch.Generator().manual_seed(1)
    lr_patches = torch.rand(16, 3, 48, 48, generator=gen) * 255  # (N, 3, 48, 48)
    hr_patches = torch.rand(16, 3, 96, 96, generator=gen) * 255  # (N, 3, 96, 96)
    steps: dict[str, list[float]] = {name: [] for name in versions}
    saved = nlsa._WindowAttention, nlsa.combine_rounds
    try:
        for i in range(args.repeat + 1):
            for name, (function, combine) in versions.items():
                nlsa._WindowAttention, nlsa.combine_rounds = function, combine
                start = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    sr = model(lr_patches)
                loss = (sr.float() - hr_patches).abs().mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if i:
                    steps[name].append(time.perf_counter() - start)
    finally:
        nlsa._WindowAttention, nlsa.combine_rounds = saved
    print("\nwhole bf16 training step, light x2, 16x48x48 (forward, L1, backward, Adam):")
    for name in versions:
        print(f"  {name:14s} {median(steps[name]):.3f} s")
    print(f"  ratio: {median(steps['baseline']) / median(steps['this checkout']):.2f}x faster than the baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
