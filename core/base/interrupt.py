"""Cooperative interruption of long computations (Cancel in the app, stop() in training).

Long loops inside the network (the blocks of the sparse attention) call :func:`checkpoint`;
code that wants to be able to stop them runs under :func:`interruptible` with a function that
raises (e.g. :class:`core.base.errors.Cancelled`) when it is time to stop. Thread-local, so the
worker thread's cancel never affects another thread.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

_local = threading.local()


@contextmanager
def interruptible(check: Callable[[], None] | None) -> Iterator[None]:
    """Within the block, :func:`checkpoint` calls ``check`` (which raises to interrupt)."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


def checkpoint() -> None:
    """A point where the current computation may be interrupted."""
    check = getattr(_local, "check", None)
    if check is not None:
        check()
