"""Where things are, for the tests: the checkout, and the shared data beside it (when present)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project checkout
SHARED = ROOT.parent / "shared"
BENCHMARK = SHARED / "data" / "benchmark"
