"""Sparse attention speed and memory: our paths against the released computation, same process.

    python benchmarks/attention.py [--threads 2] [--repeat 5] [--size 100] [--big 400] [--batch 16]

Baseline: ``benchmarks/released.py`` (a faithful transcription of the released NLSA: einsum over
chunks with concatenated neighbours, all scores at once). Ours: ``reference`` (the same algorithm
written step by step), ``blocked`` (groups of chunks), ``flash-cpu`` (PyTorch's fused CPU kernel,
inference only) and ``fast`` (strided windows of one buffer, custom backward; what ``auto`` picks).
Same weights, same input, same seed; results are checked against the baseline before timing.

Targets: forward 1x64x100x100 >= 3x faster; peak memory of one forward at 1x64x400x400
<= 1/4 of the baseline's; a ``light`` training step (16 patches of 48x48) >= 2x faster; 4x the
pixels costs <= 4.4x the time. On a GPU (``--device cuda --channels 256 --size 200 --only forward``)
>= 3x, and ``--device cuda --only paper``: the `paper` network upscales 960x540 x2 without tiles.

Peak memory is the growth of the peak resident set (``ru_maxrss``) over one forward, each path in
a fresh child process (a process's peak never goes down, so they cannot share one).
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

from core.reference.released import ReleasedNLSA, ReleasedNLSN  # noqa: E402
from core.attention import NonLocalSparseAttention  # noqa: E402
from core.network import NLSN, preset  # noqa: E402

PATHS = ("reference", "blocked", "flash-cpu", "fast")


def pair(channels: int = 64, device: str = "cpu"):
    torch.manual_seed(0)
    ours = NonLocalSparseAttention(channels)
    released = ReleasedNLSA(channels=channels)
    released.load_state_dict(ours.state_dict())
    return ours.eval().to(device), released.eval().to(device)


def run_ours(module, x, impl: str):
    module.impl = impl
    return module(x, generator=torch.Generator().manual_seed(0))


def run_released(module, x):
    torch.manual_seed(0)
    return module(x)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    _sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync()
        best = min(best, time.perf_counter() - start)
    return best


def forward_speed(size: int, repeat: int, *, channels: int = 64, device: str = "cpu") -> None:
    ours, released = pair(channels, device)
    paths = PATHS if device == "cpu" else ("reference", "blocked", "fast")
    with torch.no_grad():
        x = torch.randn(1, channels, size, size, device=device)
        ref = run_released(released, x)
        for impl in paths:
            diff = (run_ours(ours, x, impl) - ref).abs().max().item()
            print(f"  {impl}: max |ours - released| = {diff:.2e}")
        base = timed(lambda: run_released(released, x), repeat)
        print(f"forward 1x{channels}x{size}x{size} on {device}: released {base * 1000:.1f} ms")
        for impl in paths:
            t = timed(lambda: run_ours(ours, x, impl), repeat)
            print(f"  {impl:9s} {t * 1000:6.1f} ms  -> {base / t:.2f}x faster")


def scaling(sizes: list[int], repeat: int) -> None:
    """Time against pixels, 4x the pixels per step, for one attention module and for the whole
    ``light`` network through ``Upscaler``: first with glibc's default allocator settings (and the
    released module), then as the app runs, keeping freed memory for reuse
    (``core.base.allocator.keep_freed_memory``, which ``Upscaler`` calls; a process-wide setting with
    no way back, hence this order)."""
    import core.inference.upscaler
    from core.base.allocator import keep_freed_memory
    from core.inference import Upscaler

    ours, released = pair()
    torch.manual_seed(0)
    net = Upscaler(NLSN(preset("light", scale=2)), device="cpu")

    def measure() -> dict[int, tuple[float, float]]:
        times = {}
        for size in sizes:
            x = torch.randn(1, 64, size, size)
            lr = torch.rand(1, 3, size, size)
            few = max(1, repeat // (size // sizes[0]) ** 2)
            times[size] = (timed(lambda: run_ours(ours, x, "auto"), few), timed(lambda: net.upscale_tensor(lr), max(1, few // 2)))
        return times

    with torch.no_grad():
        released_times = {}
        for size in sizes:
            x = torch.randn(1, 64, size, size)
            released_times[size] = timed(lambda: run_released(released, x), 1)
        core.inference.upscaler.keep_freed_memory = lambda: False  # the Upscaler leaves the allocator alone
        rows = [("glibc defaults", measure())]
        core.inference.upscaler.keep_freed_memory = keep_freed_memory
        keep_freed_memory()
        rows.append(("as the app runs (freed memory kept)", measure()))
    for small, big in zip(sizes, sizes[1:]):
        print(f"scaling {small}x{small} -> {big}x{big} (4x the pixels), time ratio:")
        for name, times in rows:
            (m1, n1), (m4, n4) = times[small], times[big]
            print(f"  {name:36s} attention {m1 * 1000:5.0f} -> {m4 * 1000:5.0f} ms = {m4 / m1:.2f}x;  "
                  f"light x2 upscale {n1 * 1000:5.0f} -> {n4 * 1000:5.0f} ms = {n4 / n1:.2f}x")
        b1, b4 = released_times[small], released_times[big]
        print(f"  {'released attention (defaults)':36s} attention {b1 * 1000:5.0f} -> {b4 * 1000:5.0f} ms = {b4 / b1:.2f}x")


def _peak_child(impl: str, size: int, threads: int) -> None:
    """In a child process: peak RSS growth (bytes) of one forward, printed as JSON."""
    torch.set_num_threads(threads)
    ours, released = pair()
    x = torch.randn(1, 64, size, size)
    with torch.no_grad():
        # Warm up on a tiny input so that one-off allocations (kernels, thread pools) are not
        # counted; then measure the growth of the peak over one full-size forward.
        tiny = torch.randn(1, 64, 16, 16)
        run_released(released, tiny) if impl == "released" else run_ours(ours, tiny, impl)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        out = run_released(released, x) if impl == "released" else run_ours(ours, x, impl)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del out
    print(json.dumps({"impl": impl, "peak_bytes": (after - before) * 1024, "seconds": seconds}))


def peak_memory(size: int, threads: int) -> None:
    results = {}
    for impl in ("released", "fast"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child-peak", impl, "--big", str(size), "--threads", str(threads)],
            capture_output=True, text=True, check=True,
        )
        results[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = results["released"]["peak_bytes"]
    if base <= 0:
        print("  the released forward showed no growth of the peak RSS (memory already held?); run again")
        return
    print(f"peak memory of one forward at 1x64x{size}x{size} (growth of the peak RSS):")
    for impl, r in results.items():
        print(f"  {impl:9s} {r['peak_bytes'] / 2**20:7.0f} MiB  ({r['peak_bytes'] / base:.3f} of the released; "
              f"{r['seconds']:.2f} s)")


def training_step(batch: int, patch: int, repeat: int) -> None:
    """fwd + bwd (L1) of the light network: released NLSA modules against ours (auto)."""
    torch.manual_seed(0)
    ours = NLSN(preset("light", scale=2))
    cfg = preset("light", scale=2)
    released = ReleasedNLSN(n_resblocks=cfg.n_resblocks, n_feats=cfg.n_feats, scale=2, res_scale=cfg.res_scale,
                            chunk_size=cfg.chunk_size, n_hashes=cfg.n_hashes)
    released.load_state_dict(ours.state_dict())
    lr = torch.rand(batch, 3, patch, patch)
    hr = torch.rand(batch, 3, 2 * patch, 2 * patch)

    def step(model, is_ours: bool) -> None:
        model.zero_grad(set_to_none=True)
        if is_ours:
            out = model(lr, generator=torch.Generator().manual_seed(0))
        else:
            torch.manual_seed(0)
            out = model(lr)
        (out - hr).abs().mean().backward()

    step(released, False)
    grads_released = [p.grad.clone() for p in released.parameters() if p.grad is not None]
    step(ours, True)
    grads_ours = [p.grad.clone() for p in ours.parameters() if p.grad is not None]
    diff = max((a - b).abs().max().item() for a, b in zip(grads_released, grads_ours))
    base = timed(lambda: step(released, False), repeat)
    t = timed(lambda: step(ours, True), repeat)
    print(f"training step, light x2, {batch}x{patch}x{patch} (fwd + bwd, L1; max grad difference {diff:.1e}):")
    print(f"  released attention {base:.2f} s, ours {t:.2f} s -> {base / t:.2f}x faster")


def paper_whole_image(device: str) -> None:
    """The `paper` network upscales a 960x540 image x2 in one pass (no tiles) on ``device``."""
    from core.inference import Upscaler

    torch.manual_seed(0)
    model = NLSN(preset("paper", scale=2))
    up = Upscaler(model, device=device)
    x = torch.rand(1, 3, 540, 960)
    start = time.perf_counter()
    out = up.upscale_tensor(x, seed=0)
    _sync()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    print(f"paper x2, 960x540 on {device}: {tuple(out.shape)} in {seconds:.2f} s, "
          f"{up.last_run.tiles} tile(s), peak {peak:.1f} GiB")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--big", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--channels", type=int, default=64, help="channels of the forward benchmark")
    parser.add_argument("--device", default="cpu", help="device of the forward benchmark (cpu, cuda)")
    parser.add_argument("--only", choices=("forward", "scaling", "memory", "training", "paper"), action="append")
    parser.add_argument("--child-peak", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child_peak:
        _peak_child(args.child_peak, args.big, args.threads)
        return 0
    only = set(args.only or ("forward", "scaling", "memory", "training"))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    if "forward" in only:
        forward_speed(args.size, args.repeat, channels=args.channels, device=args.device)
    if "scaling" in only:
        scaling([args.size, 2 * args.size, 4 * args.size], args.repeat)
    if "memory" in only:
        peak_memory(args.big, args.threads)
    if "training" in only:
        training_step(args.batch, args.patch, max(1, args.repeat // 2))
    if "paper" in (args.only or ()):
        paper_whole_image(args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
