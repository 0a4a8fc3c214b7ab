"""The network's configuration and the registry of named ones (timm-style): ``paper``, ``light``...

Scale is chosen separately (:meth:`NLSNConfig.with_scale`); a config file maps onto the fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from core.attention import DEFAULT_CHUNK_SIZE, DEFAULT_N_HASHES, DEFAULT_REDUCTION

SCALES = (2, 3, 4)
NLSA_EVERY = 8  # one more NLSA after every 8th ResBlock (released layout)


@dataclass(frozen=True)
class NLSNConfig:
    """Constructor arguments of :class:`NLSN`, one to one (a config file maps onto these)."""

    n_feats: int = 256
    n_resblocks: int = 32
    scale: int = 2
    res_scale: float = 0.1
    n_hashes: int = DEFAULT_N_HASHES
    chunk_size: int = DEFAULT_CHUNK_SIZE
    reduction: int = DEFAULT_REDUCTION
    use_nlsa: bool = True  # False: the same backbone without sparse attention (ablation)
    hashing: str = "lsh"  # "lsh" (the paper); ablations: "random" buckets, "local" windows of k positions

    def __post_init__(self) -> None:
        from core.attention.hashing import HASHINGS

        if self.hashing not in HASHINGS:
            raise ValueError(f"unknown hashing {self.hashing!r}; choose one of {', '.join(HASHINGS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NLSNConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(unknown)}")
        return cls(**data)

    def with_scale(self, scale: int) -> "NLSNConfig":
        return replace(self, scale=scale)


# Named configurations (timm-style registry). Scale is chosen separately.
PRESETS: dict[str, NLSNConfig] = {
    # Paper: 256 features, 32 ResBlocks, res_scale 0.1, 5 NLSA (body 0, 9, 18, 27, 36).
    "paper": NLSNConfig(n_feats=256, n_resblocks=32, res_scale=0.1),
    # Light: 64 features, 16 ResBlocks, NLSA placed by the same rule (body 0, 9, 18).
    "light": NLSNConfig(n_feats=64, n_resblocks=16, res_scale=0.1),
    # Light backbone without sparse attention, to measure what NLSA adds.
    "light-nonlocal-off": NLSNConfig(n_feats=64, n_resblocks=16, res_scale=0.1, use_nlsa=False),
    # The paper's ablations of the hashing, same backbone and span (3 chunks of k = 144 keys): a
    # local window (12 x 12 = k positions per bucket) and random buckets.
    "light-local": NLSNConfig(n_feats=64, n_resblocks=16, res_scale=0.1, hashing="local"),
    "light-random-hash": NLSNConfig(n_feats=64, n_resblocks=16, res_scale=0.1, hashing="random"),
    # Tiny: for tests; small chunks so that hashing, padding and neighbours all happen on tiny images.
    "tiny": NLSNConfig(n_feats=16, n_resblocks=2, res_scale=0.1, n_hashes=2, chunk_size=16),
}


def preset(name: str, *, scale: int = 2) -> NLSNConfig:
    try:
        return PRESETS[name].with_scale(scale)
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None


def nlsa_positions(n_resblocks: int) -> list[int]:
    """Body indices of the NLSA modules: 0, then one after every 8th ResBlock."""
    positions = [0]
    index = 0
    for i in range(n_resblocks):
        index += 1  # the ResBlock
        if (i + 1) % NLSA_EVERY == 0:
            index += 1
            positions.append(index)
    return positions


def describe(config: NLSNConfig) -> str:
    """The configuration in words, e.g. ``64 features and 16 blocks`` (+ ``without sparse attention``)."""
    ablation = {"lsh": "", "random": " with random buckets", "local": " with local windows"}[config.hashing]
    return (f"{config.n_feats} features and {config.n_resblocks} blocks"
            + (ablation if config.use_nlsa else " without sparse attention"))
