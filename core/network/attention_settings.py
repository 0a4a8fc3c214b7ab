"""Running a trained NLSN with other hash rounds or chunk size than it was trained with (the paper's
Table 3 and Fig. 5 vary them at inference): the weights do not depend on either."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

from core.attention import NonLocalSparseAttention
from core.base.errors import NLSNError


def attention_modules(model: nn.Module) -> list[NonLocalSparseAttention]:
    return [m for m in model.modules() if isinstance(m, NonLocalSparseAttention)]


@contextmanager
def attention_settings(model: nn.Module, *, rounds: int | None = None, chunk: int | None = None) -> Iterator[None]:
    """Within the block every sparse-attention module of ``model`` hashes ``rounds`` times into
    chunks of ``chunk`` (None: as configured); restored afterwards."""
    if rounds is not None and rounds < 1:
        raise NLSNError(f"hash rounds must be at least 1, got {rounds}")
    if chunk is not None and chunk < 1:
        raise NLSNError(f"the chunk size must be at least 1, got {chunk}")
    modules = attention_modules(model)
    saved = [(m.n_hashes, m.chunk_size) for m in modules]
    try:
        for m in modules:
            m.n_hashes = rounds if rounds is not None else m.n_hashes
            m.chunk_size = chunk if chunk is not None else m.chunk_size
        yield
    finally:
        for m, (n, c) in zip(modules, saved):
            m.n_hashes, m.chunk_size = n, c
