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
        """Newest first; duplicates (the same file by another spelling or a link) appear once."""
        seen, out = set(), []
        for path in read_list(self.store, KEY):
            key = _key(path)
            if key not in seen:
                seen.add(key)
                out.append(path)
        return out

    def add(self, path: Path) -> None:
        key = _key(str(path))
        rest = [p for p in self.paths() if _key(p) != key]
        self.store.setValue(KEY, [str(Path(path).resolve()), *rest][: self.limit])

    def remove(self, path: Path) -> None:
        key = _key(str(path))
        self.store.setValue(KEY, [p for p in self.paths() if _key(p) != key])

    @staticmethod
    def labels(paths: list[str]) -> list[str]:
        """Menu words: the file name, and its folder where two files share a name."""
        names = [Path(p).name for p in paths]
        return [f"{name}  —  {Path(p).parent}" if names.count(name) > 1 else name for p, name in zip(paths, names)]

    def clear(self) -> None:
        self.store.setValue(KEY, [])


def _key(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))
