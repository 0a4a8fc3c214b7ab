"""The opened image and what has been computed from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.eval.compare import Comparison
from core.image import Image


@dataclass
class Document:
    image: Image  # as opened (the LR input, or the HR truth in simulate mode)
    name: str
    path: Path | None = None
    comparison: Comparison | None = None
    displays: dict[str, np.ndarray] = field(default_factory=dict)  # panel key -> pixels for the screen

    @property
    def has_result(self) -> bool:
        return self.comparison is not None and self.comparison.sr is not None

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    def default_save_name(self, scale: int) -> str:
        return f"{self.stem}_nlsn_x{scale}.png"
