"""Where a forward runs and how much memory it may take: devices, free memory, the peak estimate."""

from __future__ import annotations

import os

import torch

from core.base.errors import NLSNError
from core.network import NLSNConfig

SAFETY = 1.3  # head-room on the memory estimate
# Host memory per output pixel: float32 RGB accumulator, blend weight, the result and the
# quantised copies (about 7 floats and change).
HOST_BYTES_PER_OUTPUT_PIXEL = 32


def available_devices() -> list[str]:
    """The best first: ``cuda`` (the first GPU; ``cuda:1``... for the others), ``mps``, ``cpu``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names[:0] = ["cuda"] + [f"cuda:{i}" for i in range(1, torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.insert(0, "mps")
    return names


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an explicit device that is absent is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NLSNError("CUDA was asked for, but no CUDA GPU is available on this machine")
        index = name.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise NLSNError(f"{name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                            f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        return torch.device(name)
    if name == "mps":
        if "mps" not in available_devices():
            raise NLSNError("MPS was asked for, but it is not available on this machine")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise NLSNError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")


def free_memory(device: torch.device) -> int:
    """Bytes we may use on ``device`` now."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_budget(device: torch.device) -> int:
    """Share of the free memory a forward may take: most of a GPU, half of the RAM."""
    share = 0.8 if device.type == "cuda" else 0.5
    return int(free_memory(device) * share)


def peak_bytes(config: NLSNConfig, height: int, width: int, *, element_size: int = 4) -> int:
    """Estimated peak memory of one no-grad forward at LR size height x width (the lean path).

    Per LR position: four feature maps alive across the body (the global skip, the running map
    and a residual block's two convolutions, channels-last: no reordered copies), plus the largest
    stage: the streamed sparse attention (its match and assembly embeddings, the fp32 result and
    two running statistics, the int64 codes, sort and order of every round) or the tail's output
    (3 s^2 values, twice; the tail itself runs in strips of bounded size). Measured on the bundled
    x2 model at 1000 x 1000 on a CPU: 1.3 GiB above the idle process; estimated 1.6 GiB before
    the head-room (``benchmarks/upscale_memory.py``).
    """
    f, r = config.n_feats, config.n_hashes
    length = height * width
    c = f // config.reduction
    maps = 4 * f * element_size
    attention = (c + f) * element_size + (f + 2) * 4 + 4 * r * 8 if config.use_nlsa else 0
    tail = 2 * 3 * config.scale**2 * 4
    per_position = maps + max(attention, tail)
    return int(SAFETY * per_position * length)


def used_memory(device: torch.device) -> int:
    """Bytes in use: the peak allocated on a GPU, the resident memory of the process on the CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
