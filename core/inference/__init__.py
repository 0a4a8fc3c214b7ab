"""Whole-image NLSN inference: device choice, memory budget, tiles only when needed, x8 ensemble."""

from core.inference.devices import available_devices, default_budget, free_memory, peak_bytes, select_device
from core.inference.tiles import Tile, plan_tiles
from core.inference.upscaler import RunInfo, Upscaler

__all__ = [
    "RunInfo",
    "Tile",
    "Upscaler",
    "available_devices",
    "default_budget",
    "free_memory",
    "peak_bytes",
    "plan_tiles",
    "select_device",
]
