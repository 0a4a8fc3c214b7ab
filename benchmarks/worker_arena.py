"""A whole-image upscale on a worker thread with a malloc arena of its own (glibc's default)
against one sharing the main arena (what the app sets up, core/base/allocator.py), and on the main
thread, in the same process.

    python benchmarks/worker_arena.py [--size 300] [--threads 2] [--repeats 4]

Both worker threads live for the whole run: the first allocates before the arena limit is set
(and so keeps an arena of its own), the second after. The runs alternate; the best of each counts.
"""
from __future__ import annotations

import argparse
import platform
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.base.allocator import share_one_arena  # noqa: E402


class Lane:
    """A thread that runs the callables it is given, one at a time, and reports their seconds."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self.time(lambda: bytearray(1 << 20))  # its first allocation: the thread's arena is chosen now

    def _loop(self) -> None:
        while True:
            fn = self.jobs.get()
            start = time.perf_counter()
            fn()
            self.done.put(time.perf_counter() - start)

    def time(self, fn) -> float:
        self.jobs.put(fn)
        return self.done.get()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="LR side in pixels")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    own = Lane()  # before the limit: an arena of its own
    if not share_one_arena():
        print("not glibc: threads' arenas cannot be set here")
        return 1
    shared = Lane()

    from core.checkpoints import load_model, resolve_model
    from core.image import Image
    from core.inference import Upscaler
    from core.reference.images import smooth_image

    upscaler = Upscaler(load_model(resolve_model(None, scale=2)).model, device="cpu")
    image = Image(smooth_image(args.size, args.size))
    work = lambda: upscaler.upscale_image(image)  # noqa: E731
    work()  # warm-up
    best = {"main thread": float("inf"), "worker, own arena": float("inf"), "worker, main arena": float("inf")}
    for _ in range(args.repeats):
        start = time.perf_counter()
        work()
        best["main thread"] = min(best["main thread"], time.perf_counter() - start)
        best["worker, own arena"] = min(best["worker, own arena"], own.time(work))
        best["worker, main arena"] = min(best["worker, main arena"], shared.time(work))
    print(f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads; "
          f"{args.size}x{args.size} LR x2, best of {args.repeats}")
    base = best["main thread"]
    for name, seconds in best.items():
        print(f"{name:>20}: {seconds:6.2f} s  ({seconds / base:.3f} of the main thread's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
