"""File > Open Recent: the last files opened, newest first, each once."""

from __future__ import annotations

import os
from pathlib import Path

from nlsn_gui.state.store import Store, read_list

MAX_RECENT = 10
KEY = "files/recent"


class RecentFiles:
    def __init__(self, store: Store, *, limit: int = MAX_RECENT) -> None:
        self.store = store
        self.limit = limit

    def paths(self) -> list[str]:
        """Newest first; duplicates (the same file by another spelling) appear once."""
        seen, out = set(), []
        for path in read_list(self.store, KEY):
            key = os.path.normcase(os.path.abspath(path))
            if key not in seen:
                seen.add(key)
                out.append(path)
        return out

    def add(self, path: Path) -> None:
        key = os.path.normcase(os.path.abspath(str(path)))
        rest = [p for p in self.paths() if os.path.normcase(os.path.abspath(p)) != key]
        self.store.setValue(KEY, [str(path), *rest][: self.limit])

    def clear(self) -> None:
        self.store.setValue(KEY, [])
