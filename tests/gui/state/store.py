"""A settings store in a dict, for the state's tests (the app's is QSettings)."""

from __future__ import annotations

from typing import Any


class MemoryStore:
    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})

    def value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def setValue(self, key: str, value: Any) -> None:  # noqa: N802 - QSettings' name
        self.values[key] = value
