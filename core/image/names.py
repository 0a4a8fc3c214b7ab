"""File names as they appear in messages: one line, whatever odd characters a name holds."""

from __future__ import annotations

import os


def printable(text: str) -> str:
    """Keep messages on one line whatever odd characters a file name contains."""
    return "".join(ch if ch.isprintable() else "?" for ch in text) or "?"


def display_name(path: str | os.PathLike) -> str:
    """The file's base name (or the whole path if it has none), safe to put in a message."""
    text = os.fsdecode(os.fspath(path))
    return printable(os.path.basename(text.rstrip("/\\")) or text)
