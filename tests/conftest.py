"""Shared fixtures: tiny models and made-up images (no files from outside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(min(2, torch.get_num_threads()))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BENCHMARK = SHARED / "data" / "benchmark"
