"""User-facing error types.

Every error a user can provoke (a bad image, a wrong checkpoint, a missing folder) is raised as
an :class:`NLSNError` whose ``str()`` is one readable line. The command line and the GUI show
that line and nothing else; anything else escaping is a bug.
"""

from __future__ import annotations


class NLSNError(Exception):
    """Base class: ``str(err)`` is a complete, one-line message meant for the user."""


class ImageError(NLSNError):
    """An image could not be read or written (corrupt, unsupported, too large, unwritable...)."""


class CheckpointError(NLSNError):
    """A model file could not be loaded (wrong architecture, truncated, unsafe pickle...)."""


class DataError(NLSNError):
    """A data folder is missing, empty or laid out in a way we do not understand."""


class Cancelled(NLSNError):
    """A long operation was cancelled by the user."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
