"""Peak memory and time of a whole-image upscale: the lean inference path against the baseline,
and how close the time comes to the network's arithmetic floor.

    python benchmarks/upscale_memory.py [--side 1000] [--scale 2] [--threads 2]

Each variant runs in its own process (peak RSS is per process) on the same image made in code,
with the bundled model, through ``core.inference.Upscaler`` as ``nlsn upscale`` does:

* lean (what ships): channels-last maps, the streamed attention (rounds in turn, combined online),
  hashing in blocks of positions, the tail in strips of rows, residuals in place;
* baseline (the path before): contiguous maps, the fast attention path with every round's
  buffers at once, hashing and tail on the whole image (residuals in place in both).

The floor: the forward's FLOPs (PyTorch's flop counter on a 200 x 200 forward, scaled by the
pixel count: every stage of NLSN is linear in it) divided by this machine's fp32 matmul rate (a
2048^3 matmul, best of 5), measured in the same script.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402


def load(scale: int):
    from core.checkpoints import load_model
    from core.checkpoints.bundled import resolve_model

    return load_model(resolve_model(None, scale=scale)).model


def run_variant(variant: str, side: int, scale: int) -> dict:
    """In a child process: one upscale; its seconds and the process's peak RSS."""
    import core.attention.hashing as hashing
    import core.inference.upscaler as upscaler_file
    import core.network.nlsn as nlsn_file
    from core.image import Image
    from core.inference import Upscaler
    from core.reference.images import smooth_image

    model = load(scale)
    if variant == "baseline":
        hashing.HASH_BLOCK = 2**40
        nlsn_file.TAIL_STRIP_BYTES = 2**62
        for module in model.nlsa_modules():
            module.impl = "fast"
        upscaler_file.for_inference = lambda m, device, dtype: m.eval().to(device, dtype)
        upscaler_file.as_input = lambda x, device, dtype: x.to(device, dtype)
    image = Image(smooth_image(side, side, seed=1))
    upscaler = Upscaler(model)
    start = time.perf_counter()
    upscaler.upscale_image(image)
    seconds = time.perf_counter() - start
    return {"variant": variant, "seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "tiles": upscaler.last_run.tiles}


def floor_seconds(side: int, scale: int) -> tuple[float, float, float]:
    """(FLOPs of the forward at side x side, matmul FLOP/s, the floor in seconds)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = load(scale).eval()
    probe = 200
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, probe, probe), generator=torch.Generator().manual_seed(0))
    flops = counter.get_total_flops() * (side * side) / (probe * probe)
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    rate = 2 * 2048**3 / best
    return flops, rate, flops / rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", choices=("lean", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.side, args.scale)))
        return
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}; "
          f"bundled x{args.scale}, {args.side}x{args.side} LR, whole image")
    results = {}
    for variant in ("baseline", "lean"):
        done = subprocess.run([sys.executable, __file__, "--variant", variant, "--side", str(args.side),
                               "--scale", str(args.scale), "--threads", str(args.threads)],
                              capture_output=True, text=True, check=True)
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[variant]
        print(f"{variant:9s} peak {r['peak_mib']:7.0f} MiB   {r['seconds']:6.1f} s   ({r['tiles']} tile)")
    base, lean = results["baseline"], results["lean"]
    print(f"lean / baseline: memory {lean['peak_mib'] / base['peak_mib']:.2f}, time {lean['seconds'] / base['seconds']:.2f}")
    flops, rate, floor = floor_seconds(args.side, args.scale)
    print(f"forward {flops / 1e12:.2f} TFLOP; matmul {rate / 1e9:.0f} GFLOP/s -> floor {floor:.1f} s; "
          f"lean takes {lean['seconds'] / floor:.1f}x the floor")


if __name__ == "__main__":
    main()
