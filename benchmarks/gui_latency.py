"""Event-loop latency of the main window while a large image upscales, and time to cancel.

    python benchmarks/gui_latency.py [--size 480] [--preset light] [--cancel-after 5]

A 5 ms QTimer ticks on the UI thread; the longest gap between ticks beyond its period is the
worst stall a user could feel. Measured first with the window idle (the baseline, same process),
then while the worker upscales a SIZE x SIZE image x2 with a `light` NLSN on the CPU; then Cancel
is pressed and the time until the worker reports the job cancelled is measured.
Targets: stall <= 50 ms while working; cancel <= 1 s.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5


class Ticker:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def tick(self):
        now = time.perf_counter()
        self.gaps.append((now - self.last) * 1000 - TICK_MS)
        self.last = now

    def start(self):
        self.gaps.clear()
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return sorted(self.gaps)


def spin(app, seconds: float, until=None) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and not (until and until()):
        app.processEvents()
        time.sleep(0.001)


def summary(gaps: list[float]) -> str:
    if not gaps:
        return "no ticks"
    p99 = gaps[int(0.99 * (len(gaps) - 1))]
    return f"max stall {max(gaps):.1f} ms, p99 {p99:.1f} ms over {len(gaps)} ticks"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--preset", default="light")
    parser.add_argument("--cancel-after", type=float, default=5.0)
    args = parser.parse_args()

    import torch
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from core.checkpoints import save_model
    from core.image import Image
    from core.network import NLSN, preset
    from nlsn_gui.qt.main_window import MainWindow
    from core.reference.images import smooth_image

    app = QApplication.instance() or QApplication([])
    app.setProperty("nlsn_quiet", True)
    tmp = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    model = tmp / f"{args.preset}-x2.safetensors"
    save_model(model, NLSN(preset(args.preset, scale=2)))
    win = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
    win.resize(1400, 860)
    win.show()
    win.open_model(model)
    spin(app, 30, until=lambda: not win.worker.busy and win.model_path() == str(model))
    win.open_image(Image(smooth_image(args.size, args.size)), name="big")
    spin(app, 60, until=lambda: not win.worker.busy and win.doc is not None)

    ticker = Ticker()
    ticker.start()
    spin(app, 2.0)
    idle = ticker.stop()

    cancelled_at = []
    win.worker.worker.cancelled.connect(lambda _id: cancelled_at.append(time.perf_counter()))
    ticker.start()
    win.upscale()
    spin(app, args.cancel_after)
    working = ticker.stop()
    progress = win.progress.value() / 10
    pressed = time.perf_counter()
    win.cancel()
    spin(app, 30, until=lambda: bool(cancelled_at))
    cancel_s = (cancelled_at[0] - pressed) if cancelled_at else float("inf")
    win.close()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"image {args.size}x{args.size} -> x2, preset {args.preset}, CPU; cancelled at {progress:.0f}%")
    print(f"idle (baseline):  {summary(idle)}")
    print(f"while upscaling:  {summary(working)}")
    ratio = max(working) / max(max(idle), 0.1) if working and idle else float("nan")
    print(f"stall ratio working/idle: {ratio:.1f}x")
    print(f"cancel took {cancel_s * 1000:.0f} ms")
    ok = working and max(working) <= 50 and cancel_s <= 1.0
    print("targets (stall <= 50 ms, cancel <= 1 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
