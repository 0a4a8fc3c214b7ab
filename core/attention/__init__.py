"""Non-Local Sparse Attention (NLSA), Mei et al., CVPR 2021.

One module computes, for an input feature map X (N, C, H, W) with L = H * W positions (the step
numbers every file of this package refers to):

1. Embeddings: the match embedding x = Conv2d(C, C/4, 3x3) and the assembly embedding
   y = Conv2d(C, C, 1x1), no activation; x serves as query and, normalised, as key (theta = phi).
2. Buckets: m = min(L // k rounded up to even, 128) for chunk size k. The release crashes when
   L < k (m = 0); there one chunk holds all L positions, so the result is dense attention.
3. Spherical LSH: project the unnormalised x through a standard-normal rotation (1, C/4, R, m/2);
   a position's code in round r is the argmax over [p, -p], offset by r * m so rounds never mix.
   The rotations are drawn from a CPU generator (or the global CPU RNG), one draw per module in
   forward order: a generator seeded with s draws what ``torch.manual_seed(s)`` gives the release.
4. Sort the R * L codes of an image, stably (ties keep raster order).
5. Gather x and y in that order; pad each round's L positions to a multiple of k by repeating its
   own last (-L mod k) elements; split into chunks of k.
6. Keys: x L2-normalised over channels (eps 5e-5). A chunk's queries attend to the keys of its own,
   the previous and the next chunk (cyclic within the round): 3k keys, no 1/sqrt(d), no self mask;
   the values are y of the same positions.
7. Scores q . k; per query its log-sum-exp; weights exp(score - lse); the round's output weights @ y.
8. Drop the padded queries, undo the sort, and combine the R rounds per position with a softmax
   over rounds of their log-sum-exp.
9. The module's output: combined * res_scale + X.

``hashing`` does steps 2-4; ``chunks`` the parts of 5-8 every path shares; the paths ``reference``
(the readable one the others are tested against), ``fast`` (the default) and ``grouped`` (kept for
comparison); ``module`` is the nn.Module with steps 1 and 9.

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
