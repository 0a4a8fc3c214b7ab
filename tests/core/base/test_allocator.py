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
