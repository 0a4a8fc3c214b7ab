"""Shared settings: Qt offscreen, two CPU threads. Tiny models and images are made in each test."""

from __future__ import annotations

import os

import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(min(2, torch.get_num_threads()))
