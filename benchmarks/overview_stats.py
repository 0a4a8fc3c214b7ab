"""The attention overview's statistics over every query: all chunks of a round at once (baseline)
against blocks of chunks (what ships), on the main thread and on a worker thread as in the app.

    python benchmarks/overview_stats.py [--size 192x128] [--threads 2] [--repeats 3]

One inspected forward of the bundled x2 model on an image made in code; the two settings
alternate in the same process and the best of each is compared.
"""
from __future__ import annotations

import argparse
import platform
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import core.inspection.overview as overview  # noqa: E402
from core.checkpoints import load_model, resolve_model  # noqa: E402
from core.image import Image, image_tensor  # noqa: E402
from core.inspection import inspect  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402

SHIPPED = overview.BLOCK_ELEMENTS
WHOLE_ROUND = 2**40  # one block: every chunk of a round at once


def timed(inspection, block: int, *, thread: bool) -> float:
    overview.BLOCK_ELEMENTS = block
    seconds: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        overview.overview_stats(inspection)
        seconds.append(time.perf_counter() - start)

    if thread:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    else:
        run()
    overview.BLOCK_ELEMENTS = SHIPPED
    return seconds[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="192x128", help="LR width x height")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    model = load_model(resolve_model(None, scale=2)).model
    inspection = inspect(model, image_tensor(Image(smooth_image(height, width))), seed=0)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads; "
          f"{width}x{height} LR, {len(inspection.modules)} modules x {inspection.modules[0].n_hashes} rounds")
    for thread in (False, True):
        best = {"whole round": float("inf"), "blocks": float("inf")}
        for _ in range(args.repeats):
            best["whole round"] = min(best["whole round"], timed(inspection, WHOLE_ROUND, thread=thread))
            best["blocks"] = min(best["blocks"], timed(inspection, SHIPPED, thread=thread))
        where = "worker thread" if thread else "main thread"
        print(f"{where}: whole round {best['whole round']:.2f} s, blocks of {SHIPPED} weights "
              f"{best['blocks']:.2f} s: {best['whole round'] / best['blocks']:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
