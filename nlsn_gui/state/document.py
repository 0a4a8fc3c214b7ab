"""The opened image and what has been computed from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.eval.compare import Comparison, Scores, pixel_difference
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
    architecture: str = "NLSN"
    rounds: int | None = None  # hash rounds, when not the model's own
    tile: int | None = None  # the tile size, when the image went through in tiles of a chosen size

    @property
    def key(self) -> str:
        """What a result is one of: a model (at a number of hash rounds, in tiles of a size), so that
        rounds, or the whole image and tiles, can be compared side by side."""
        key = self.model if self.rounds is None else f"{self.model}#rounds={self.rounds}"
        return key if self.tile is None else f"{key}#tile={self.tile}"

    def title(self) -> str:
        """``nlsn-light-x2``, ``nlsn-light-x2 · 8 rounds``, ``rcan-small-x2 (RCAN)``: a result's panel
        among several."""
        rounds = f"{self.rounds} round{'s' if self.rounds != 1 else ''}"
        name = self.model_name if self.rounds is None else f"{self.model_name} · {rounds}"
        name += f" · tiles of {self.tile} px" if self.tile is not None else ""
        return name if self.architecture == "NLSN" else f"{name} ({self.architecture})"


@dataclass
class Compared:
    """Another model's result on the same input, shown beside the current one."""

    made: Made
    display: np.ndarray  # (sH, sW, 3|4) uint8
    scores: Scores | None = None  # with the truth known (simulate)
    diff: np.ndarray | None = None  # (sH, sW) float32 |result - HR|


@dataclass
class Kept:
    """A result set aside when the scale or mode changed: it comes back with them."""

    comparison: Comparison
    displays: dict[str, np.ndarray]
    made: Made
    compared: dict[str, Compared] = field(default_factory=dict)


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
    compared: dict[str, Compared] = field(default_factory=dict)  # Made.key -> its result, in order added
    diff_of: str | None = None  # the Made.key whose |result - HR| is mapped (None: the current one)
    diff_between: str | None = None  # a compared Made.key: |current - its result| is mapped instead
    _between: tuple | None = field(default=None, repr=False)  # (key, id of both arrays, map): computed once

    def set_aside(self) -> None:
        """Keep the results for their (mode, scale) before another is prepared."""
        if self.has_result and self.made is not None:
            self.kept[(self.comparison.mode, self.comparison.scale)] = Kept(self.comparison, dict(self.displays),
                                                                           self.made, dict(self.compared))

    def take_back(self) -> bool:
        """Show the results kept for the document's (mode, scale), if any; True when they came back."""
        kept = self.kept.pop((self.comparison.mode, self.comparison.scale), None)
        if kept is None:
            return False
        self.comparison, self.displays, self.made = kept.comparison, kept.displays, kept.made
        self.compared = kept.compared
        return True

    def add_result(self, comparison: Comparison, displays: dict[str, np.ndarray], made: Made) -> None:
        """A new result becomes the current one; the current one, of another model, stays beside it
        (a model's newer result replaces its older one)."""
        if self.has_result and self.made is not None and self.made.key != made.key:
            c = self.comparison
            self.compared[self.made.key] = Compared(self.made, self.displays["nlsn"], c.sr_scores, c.diff)
        self.compared.pop(made.key, None)
        if self.diff_between is not None and self.diff_between not in self.compared:
            self.diff_between = None  # it is the current result now
        self.comparison, self.made = comparison, made
        self.displays.update(displays)

    def forget_compared(self, model: str | None = None) -> None:
        """Drop one model's result from the comparison (None: every other model's)."""
        if model is None:
            self.compared.clear()
        else:
            self.compared.pop(model, None)
        if self.diff_of is not None and self.diff_of not in self.compared:
            self.diff_of = None
        if self.diff_between is not None and self.diff_between not in self.compared:
            self.diff_between = None

    def difference_between(self) -> np.ndarray | None:
        """(sH, sW) float32 |current result - the ``diff_between`` result| (0..255), or None."""
        other = self.compared.get(self.diff_between) if self.diff_between is not None else None
        if other is None or not self.has_result or "nlsn" not in self.displays:
            return None
        current = self.displays["nlsn"]
        key = (self.diff_between, id(current), id(other.display))
        if self._between is None or self._between[0] != key:
            self._between = (key, pixel_difference(current, other.display))
        return self._between[1]

    def results(self) -> list[Made]:
        """What every shown result was made with: the compared ones in order, then the current one."""
        current = [self.made] if self.has_result and self.made is not None else []
        return [c.made for c in self.compared.values()] + current

    @property
    def has_result(self) -> bool:
        return self.comparison is not None and self.comparison.sr is not None

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    def default_save_name(self, scale: int, *, tag: str | None = None) -> str:
        """As the batch and the command line name it (``<stem>_x<s>.png``, or ``<stem>_<tag>.png``)."""
        return output_name(Path(self.stem + ".png"), scale=scale, tag=tag)
