"""Training step time by memory layout: contiguous NCHW (what training uses, baseline) against
channels_last (NHWC).

    python benchmarks/memory_format.py [--preset light] [--scale 2] [--threads 2] [--steps 4]

One model, one Adam, one batch made in code (16x48x48 LR by default); a step is forward, L1,
backward and Adam. The two layouts alternate step by step in the same process, so a shared
machine's drifting speed hits both alike; the best step of each is compared.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.network import NLSN, preset  # noqa: E402

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="light")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per layout")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    model = NLSN(preset(args.preset, scale=args.scale)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    lr = torch.rand(args.batch, 3, args.patch, args.patch, generator=generator)  # (N, 3, h, w)
    hr = torch.rand(args.batch, 3, args.patch * args.scale, args.patch * args.scale, generator=generator)

    def step(layout: torch.memory_format) -> float:
        model.to(memory_format=layout)
        x = lr.contiguous(memory_format=layout)
        start = time.perf_counter()
        optimizer.zero_grad()
        (model(x) - hr).abs().mean().backward()
        optimizer.step()
        return time.perf_counter() - start

    for layout in LAYOUTS.values():  # warm-up: oneDNN builds its kernels on the first call
        step(layout)
    times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for _ in range(args.steps):
        for name, layout in LAYOUTS.items():
            times[name].append(step(layout))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
          f"{args.threads} threads")
    print(f"training step, {args.preset} x{args.scale}, {args.batch}x{args.patch}x{args.patch} "
          f"(fwd + L1 + bwd + Adam), {args.steps} alternating steps each:")
    for name, values in times.items():
        print(f"  {name:13s} best {min(values):.2f} s (range {min(values):.2f}-{max(values):.2f})")
    ratio = min(times["contiguous"]) / min(times["channels_last"])
    print(f"  channels_last vs contiguous: {ratio:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
