"""The inspector's attribution section without Qt: the box around the query pixel, the models to
attribute, the result shown and which late results still apply."""

from __future__ import annotations

from core.inspection.attribution import DEFAULT_BOX, DEFAULT_STEPS, Box, box_around
from nlsn_gui.tasks.attribute import Attributed

# (label, LR pixels around the box or None for the whole image), in menu order.
REGIONS: tuple[tuple[str, int | None], ...] = (
    ("Box + 32 px", 32),
    ("Box + 64 px", 64),
    ("Whole image", None),
)
VIEW_MARGIN = 2.5  # box sizes around the box the maps show first
HINT = ("Which LR pixels the output box around the query depends on (LAM: integrated gradients along "
        "a progressive blur), for the inspected model and another one.")


class AttributionState:
    def __init__(self) -> None:
        self.result: Attributed | None = None
        self.job: int | None = None
        self.generation = 0  # bumped when the document changes: late results are dropped
        self.request = 0
        self.box_size = DEFAULT_BOX
        self.steps = DEFAULT_STEPS

    @property
    def running(self) -> bool:
        return self.job is not None

    def document_changed(self) -> list[int]:
        jobs = [self.job] if self.job is not None else []
        self.generation += 1
        self.job, self.result = None, None
        return jobs

    def box(self, query: tuple[int, int] | None, *, scale: int, lr_width: int, lr_height: int) -> Box | None:
        """The box_size x box_size output box centred on the query pixel, inside the output."""
        if query is None:
            return None
        y, x = query
        return box_around((x + 0.5) * scale, (y + 0.5) * scale, size=self.box_size,
                          out_width=lr_width * scale, out_height=lr_height * scale)

    def next_request(self) -> int:
        self.request += 1
        return self.request

    def accept(self, result: Attributed) -> bool:
        if result.generation != self.generation or result.request != self.request:
            return False
        self.job, self.result = None, result
        return True

    def overlay(self):
        """The first model's map over the LR (the inspector's "Attribution (LAM)" overlay)."""
        return self.result.models[0].overlay if self.result is not None and self.result.models else None

    def view_rect(self, *, scale: int) -> tuple[float, float, float, float]:
        """(x, y, width, height) in LR pixels the maps show first: the box with VIEW_MARGIN box sizes
        around it, within the region the models saw (the user zooms out for the rest)."""
        x, y, w, h = self.result.box
        rx0, ry0, rx1, ry1 = self.result.models[0].attribution.region
        margin = VIEW_MARGIN * max(w, h) / scale
        x0, y0 = max(x / scale - margin, rx0), max(y / scale - margin, ry0)
        x1, y1 = min((x + w) / scale + margin, rx1), min((y + h) / scale + margin, ry1)
        return x0, y0, x1 - x0, y1 - y0

    def captions(self) -> list[str]:
        if self.result is None:
            return []
        return [f"{m.name}\nDI {m.attribution.diffusion_index:.2f} · far {m.attribution.far_share:.0%}"
                for m in self.result.models]

    def summary(self) -> str:
        if self.result is None:
            return ""
        x, y, w, h = self.result.box
        first = self.result.models[0].attribution
        rx0, ry0, rx1, ry1 = first.region
        seconds = sum(m.attribution.seconds for m in self.result.models)
        return (f"Box {w}×{h} at ({x}, {y}) · {first.steps} path points · model saw {rx1 - rx0}×{ry1 - ry0} LR "
                f"pixels · {seconds:.1f} s")
