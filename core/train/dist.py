"""Where this process stands in a distributed run (torchrun): rank, world size, the process group."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    """Where this process stands in a (possibly) distributed run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def mean(self, value: torch.Tensor) -> float:
        """``value`` averaged over the ranks, so logs and divergence checks agree on every rank."""
        if self.enabled:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.world_size
        return float(value)

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` holds on some rank (every rank must stop at the same step)."""
        if not self.enabled:
            return flag
        import torch.distributed as dist

        tensor = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())


def dist_from_env() -> DistContext:
    """Under torchrun (WORLD_SIZE > 1) join the process group: NCCL on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    ctx = DistContext(rank=int(os.environ["RANK"]), world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return ctx
