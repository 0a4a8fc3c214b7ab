"""How right the upscale's ETA is: progress weighted by each stage's expected time, against
counting stages (the baseline), on the same image, model and machine in one process.

    python benchmarks/upscale_eta.py [--size 600] [--scale 2] [--threads 2]

At every progress report the ETA the app shows (elapsed x (1 - f) / f) is compared with the time
that was actually left; printed: its mean and worst error as a share of the whole upscale, for
stage counting, for the first run with the priors, and for a run after the model's costs were
learned. The bundled model and an image made in code; nothing is downloaded.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.checkpoints import load_model  # noqa: E402
from core.checkpoints.bundled import resolve_model  # noqa: E402
from core.image import Image  # noqa: E402
from core.inference import Upscaler  # noqa: E402
from core.inference.work import StageCosts  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402


class CountStages(StageCosts):
    """The baseline: every stage weighs the same."""

    def weight(self, kind: str) -> float:
        return 1.0

    def learn(self, timings) -> None:
        pass


def eta_errors(upscaler: Upscaler, image: Image) -> tuple[float, float, float]:
    """(mean, worst) |ETA - time left| / total over the reports past 2 %, and the total seconds."""
    log: list[tuple[float, float]] = []
    start = time.perf_counter()
    upscaler.upscale_image(image, progress=lambda f, _w: log.append((time.perf_counter() - start, f)))
    total = time.perf_counter() - start
    errors = [abs(t * (1 - f) / f - (total - t)) / total for t, f in log if 0.02 < f < 1.0]
    return sum(errors) / len(errors), max(errors), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=600, help="LR image side in pixels")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(resolve_model(None, scale=args.scale)).model
    image = Image(smooth_image(args.size, args.size, seed=1))
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads; bundled x{args.scale}, "
          f"{args.size}x{args.size} LR")
    baseline = Upscaler(model)
    baseline.costs = CountStages(scale=args.scale)
    mean, worst, total = eta_errors(baseline, image)
    print(f"counting stages (baseline): ETA error mean {mean:6.1%}, worst {worst:6.1%} of {total:.1f} s")
    weighted = Upscaler(model)
    first = eta_errors(weighted, image)
    print(f"work-weighted, priors:      ETA error mean {first[0]:6.1%}, worst {first[1]:6.1%} of {first[2]:.1f} s")
    learned = eta_errors(weighted, image)
    print(f"work-weighted, learned:     ETA error mean {learned[0]:6.1%}, worst {learned[1]:6.1%} of {learned[2]:.1f} s")
    print(f"mean error ratio (learned / baseline): {learned[0] / mean:.2f}")


if __name__ == "__main__":
    main()
