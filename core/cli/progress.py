"""Progress on stderr: one updating line on a terminal, occasional plain lines in a file or pipe."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """One updating line on a terminal; occasional plain lines when stderr is a file or pipe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1.0

    def update(self, prefix: str, fraction: float, detail: str = "") -> None:
        pct = int(fraction * 100)
        if self.tty:
            bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
            self.stream.write(f"\r{prefix} [{bar}] {pct:3d}% {detail}".ljust(79)[:200])
            self.stream.flush()
        elif pct >= self._last + 25 or (pct == 100 and self._last < 100):
            self._last = pct
            self.stream.write(f"{prefix} {pct}%\n")
            self.stream.flush()

    def clear(self) -> None:
        """Take the updating line away (before a result is printed on stdout)."""
        if self.tty:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 79 + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last = -1.0

