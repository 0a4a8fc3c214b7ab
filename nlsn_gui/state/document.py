"""The opened image and what has been computed from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.eval.compare import Comparison
from core.image import Image
from core.inference.batch import output_name


@dataclass(frozen=True)
class Made:
    """What an NLSN result was made with."""

    model: str  # the model file
    model_name: str
    seed: int
    scale: int
    mode: str


@dataclass
class Kept:
    """A result set aside when the scale or mode changed: it comes back with them."""

    comparison: Comparison
    displays: dict[str, np.ndarray]
    made: Made


@dataclass
class Document:
    image: Image  # as opened (the LR input, or the HR truth in simulate mode)
    name: str
    path: Path | None = None
    comparison: Comparison | None = None
    displays: dict[str, np.ndarray] = field(default_factory=dict)  # panel key -> pixels for the screen
    made: Made | None = None  # of the NLSN result shown
    frames: int = 1  # an animation's frames: the first is shown, Save As GIF/WebP/PNG upscales them all
    kept: dict[tuple[str, int], Kept] = field(default_factory=dict)  # (mode, scale) -> a result set aside

    def set_aside(self) -> None:
        """Keep the result for its (mode, scale) before another is prepared."""
        if self.has_result and self.made is not None:
            self.kept[(self.comparison.mode, self.comparison.scale)] = Kept(self.comparison, dict(self.displays),
                                                                           self.made)

    def take_back(self) -> bool:
        """Show the result kept for the document's (mode, scale), if any; True when one came back."""
        kept = self.kept.pop((self.comparison.mode, self.comparison.scale), None)
        if kept is None:
            return False
        self.comparison, self.displays, self.made = kept.comparison, kept.displays, kept.made
        return True

    @property
    def has_result(self) -> bool:
        return self.comparison is not None and self.comparison.sr is not None

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    def default_save_name(self, scale: int, *, tag: str | None = None) -> str:
        """As the batch and the command line name it (``<stem>_x<s>.png``, or ``<stem>_<tag>.png``)."""
        return output_name(Path(self.stem + ".png"), scale=scale, tag=tag)
