"""The NLSN network and its named configurations."""

from core.network.config import PRESETS, SCALES, NLSNConfig, describe, nlsa_positions, preset
from core.network.nlsn import NLSN, count_parameters

__all__ = ["NLSN", "PRESETS", "SCALES", "NLSNConfig", "count_parameters", "describe", "nlsa_positions", "preset"]
