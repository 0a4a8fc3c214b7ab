"""Non-Local Sparse Attention (NLSA), Mei et al., CVPR 2021.

Step numbers in comments refer to the reference specification (``nlsn-reference.md``):
``hashing`` (steps 2-4), ``chunks`` (5-8, shared), the paths ``reference`` (the readable one the
others are tested against), ``fast`` (the default) and ``grouped`` (kept for comparison), and
``module`` (the nn.Module with steps 1 and 9).

Shapes: N batch, C channels of the match embedding (= channels // reduction), L = H * W positions,
R hash rounds, m hash buckets, k chunk size, K = number of chunks per round.
"""

from core.attention.chunks import KEY_NORM_EPS, AttentionOutput, combine_rounds
from core.attention.hashing import Buckets, compute_buckets, hash_codes, n_buckets
from core.attention.module import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_N_HASHES,
    DEFAULT_REDUCTION,
    PATHS,
    NonLocalSparseAttention,
)
from core.attention.reference import sparse_attention_reference

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_N_HASHES",
    "DEFAULT_REDUCTION",
    "KEY_NORM_EPS",
    "PATHS",
    "AttentionOutput",
    "Buckets",
    "NonLocalSparseAttention",
    "combine_rounds",
    "compute_buckets",
    "hash_codes",
    "n_buckets",
    "sparse_attention_reference",
]
