"""Atomic file writing shared by images, model files and training runs.

A write either replaces the target completely or leaves it (and the folder) untouched: the
data goes to a temporary file in the same folder, is fsynced, then renamed over the target.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile

_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "folder does not exist",
    errno.ENOTDIR: "folder does not exist",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.EISDIR: "a folder has that name",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "disk quota exceeded"


def os_error_reason(exc: OSError) -> str:
    """A short, lower-case reason for an OSError ("disk full", "permission denied", ...)."""
    reason = _REASONS.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        text = exc.strerror or type(exc).__name__
        reason = "".join(ch if ch.isprintable() else "?" for ch in text).lower()
    return reason


@functools.cache
def _new_file_mode() -> int:
    """Permissions for a newly created file: 0o666 minus the umask (read without changing it).

    tempfile.mkstemp creates files as 0o600; a normal ``open(path, 'w')`` would honour the
    umask instead. The umask is read from /proc where available; elsewhere 0o022 is assumed.
    """
    umask = 0o022
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    return 0o666 & ~umask


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the target is either fully replaced or untouched.

    Raises OSError (with errno set) on failure; no temporary file is left behind.
    """
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "folder does not exist", folder)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "a folder has that name", target)
    mode = _new_file_mode()
    if os.path.exists(target):
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied", target)
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(target).st_mode)  # keep the existing permissions

    base = os.path.basename(os.fsdecode(target))
    fd, temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)

def _write_all(fd: int, data: bytes) -> None:
    """os.write until everything is written (it may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - defensive
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable where the platform allows it (best effort)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
