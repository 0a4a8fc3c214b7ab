"""Where choices are remembered: anything with ``value(key, default)`` and ``setValue(key, value)``.

``QSettings`` is one (the app's); a dict with those two methods is another (the state's tests).
Settings come back as strings from an INI file, so the readers here convert.
"""

from __future__ import annotations

from typing import Any, Protocol


class Store(Protocol):
    def value(self, key: str, default: Any = None) -> Any: ...

    def setValue(self, key: str, value: Any) -> None: ...  # noqa: N802 - QSettings' name


def read_list(store: Store, key: str) -> list[str]:
    """A list of strings (QSettings returns one string for a one-item list, None for none)."""
    value = store.value(key, []) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def read_bool(store: Store, key: str, default: bool) -> bool:
    value = store.value(key, default)
    return value if isinstance(value, bool) else str(value).lower() == "true"


def read_int(store: Store, key: str, default: int) -> int:
    try:
        return int(store.value(key, default))
    except (TypeError, ValueError):
        return default
