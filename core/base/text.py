"""Numbers in words for status bars, logs and messages: durations and byte counts."""

from __future__ import annotations

import math


def format_duration(seconds: float, *, unknown: str = "…") -> str:
    """``1:05``, ``1:02:03``, or ``2 d 3 h`` past two days; ``unknown`` when not a finite, non-negative number."""
    if not math.isfinite(seconds) or seconds < 0:
        return unknown
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration_in_words(seconds: float) -> str:
    """A rough span for a plan: ``40 s``, ``34 min``, ``2 h 10 min``, ``3 d 4 h``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "an unknown time"
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def format_bytes(size: int) -> str:
    """``512 B``, ``12 KB``, ``3.4 MB``, ``1.5 GB`` (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit != "MB" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
