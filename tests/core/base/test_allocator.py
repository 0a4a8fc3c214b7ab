import sys

import pytest
import torch

from core.base.allocator import keep_freed_memory


def test_keep_freed_memory_is_harmless_and_reports_whether_it_applied():
    applied = keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()).lower():
        assert applied
    # Allocation still works, large and small, after the change.
    big = torch.ones(64 << 20 // 4)
    assert float(big.sum()) == big.numel()
    del big


@pytest.mark.skipif(sys.platform.startswith("linux"), reason="only off Linux")
def test_keep_freed_memory_elsewhere_does_nothing():
    assert keep_freed_memory() is False


def _glibc() -> bool:
    import platform

    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _resident_bytes() -> int:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_freed_memory_is_kept_for_reuse_until_released():
    from core.base.allocator import keep_freed_memory, release_free_memory

    assert keep_freed_memory()
    release_free_memory()
    size = 256 << 20
    before = _resident_bytes()
    block = torch.ones(size // 4)  # touched: resident
    del block
    # Freed but kept: the next large buffer reuses these pages without page faults.
    assert _resident_bytes() - before > size * 3 // 4
    assert release_free_memory()
    assert _resident_bytes() - before < size // 4


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_a_worker_thread_reuses_freed_large_blocks_once_arenas_are_shared():
    """A thread started after share_one_arena() allocates from the main arena: a large block it
    frees is reused, its pages still there (no page faults), where a thread arena would mmap it
    afresh every time (25,600 faults for 100 MiB)."""
    import ctypes
    import ctypes.util
    import resource
    import threading

    from core.base.allocator import share_one_arena

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    assert share_one_arena() and keep_freed_memory()
    size, result = 100 << 20, {}  # more than a thread arena's 64 MiB heaps

    def work() -> None:
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        libc.free(block)
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)  # touches every page
        result["faults"] = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
        libc.free(block)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert result["faults"] < 1000
