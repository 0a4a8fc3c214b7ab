"""What a model costs: parameters, floating-point operations for an input size (PyTorch's flop
counter: two per multiply-add of convolutions and matrix products), time and memory, per stage."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.inference.devices import peak_bytes, select_device
from core.network import NLSN
from core.network.foreign import ForeignNet


@dataclass
class StageStats:
    name: str  # "head", "body.0 (attention)", "tail"... or another architecture's parts
    params: int
    flops: int
    seconds: float = 0.0


@dataclass
class ModelStats:
    architecture: str
    width: int  # LR input size
    height: int
    scale: int
    params: int
    flops: int
    seconds: float  # one forward, after a warm-up one
    peak_bytes: int  # measured on a GPU; estimated from the configuration on a CPU (0: unknown)
    peak_measured: bool
    device: str
    stages: list[StageStats] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of the stages a forward passes through, in order."""
    if isinstance(model, NLSN):
        from core.attention import NonLocalSparseAttention

        def kind(m: nn.Module) -> str:
            return "attention" if isinstance(m, NonLocalSparseAttention) else "conv" if isinstance(m, nn.Conv2d) \
                else "block"

        body = [(f"body.{i} ({kind(m)})", m) for i, m in enumerate(model.body)]
        return [("mean shift", model.sub_mean), ("head", model.head), *body, ("tail", model.tail),
                ("mean shift (out)", model.add_mean)]
    net = model.net if isinstance(model, ForeignNet) else model
    return list(net.named_children())


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def model_stats(model: nn.Module, width: int, height: int, *, device: str = "cpu", seed: int = 0) -> ModelStats:
    """Parameters, FLOPs, time and peak memory of one no-grad forward at LR ``width`` x ``height``."""
    dev = select_device(device)
    model = model.eval().to(dev)
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed)).to(dev)

    def run() -> None:
        model(x.clone(), generator=torch.Generator().manual_seed(seed))

    stages = _stages(model)
    with FlopCounterMode(display=False) as counter:
        run()
    counts = counter.get_flop_counts()  # by module path: "NLSN.body.3", "ForeignNet.net.conv_first"
    names = {id(m): n for n, m in model.named_modules()}

    def flops_of(module: nn.Module) -> int:
        return int(sum(counts.get(f"{type(model).__name__}.{names[id(module)]}", {}).values()))

    seconds: dict[int, float] = {}
    started: dict[int, float] = {}

    def before(module, _inputs) -> None:
        _sync(dev)
        started[id(module)] = time.perf_counter()

    def after(module, _inputs, _output) -> None:
        _sync(dev)
        seconds[id(module)] = seconds.get(id(module), 0.0) + time.perf_counter() - started[id(module)]

    run()  # warm-up: first-call allocations and kernel choices are not the model's cost
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    handles = [m.register_forward_pre_hook(before) for _, m in stages]
    handles += [m.register_forward_hook(after) for _, m in stages]
    try:
        _sync(dev)
        start = time.perf_counter()
        run()
        _sync(dev)
        total = time.perf_counter() - start
    finally:
        for h in handles:
            h.remove()
    if dev.type == "cuda":
        peak, measured = int(torch.cuda.max_memory_allocated(dev)), True
    elif isinstance(model, NLSN):
        peak, measured = peak_bytes(model.config, height, width), False
    else:
        peak, measured = 0, False
    return ModelStats(
        architecture="NLSN" if isinstance(model, NLSN) else getattr(model, "architecture", type(model).__name__),
        width=width, height=height, scale=int(model.scale), params=_params(model),
        flops=int(counter.get_total_flops()), seconds=total, peak_bytes=peak, peak_measured=measured,
        device=str(dev),
        stages=[StageStats(name, _params(m), flops_of(m), seconds.get(id(m), 0.0)) for name, m in stages],
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
