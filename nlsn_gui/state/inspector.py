"""The attention inspector's state, without Qt: the inspected forward, the one before a re-hash, the
view shown, the query pixel, and which late results still apply."""

from __future__ import annotations

import numpy as np

from core.inspection import Inspection
from nlsn_gui.tasks.inspect import Inspected, ModuleView

HINT = "Open an image, then Inspect to hash it with the selected model"
READY_HINT = "Inspect hashes this image with the selected model and shows its buckets and attention"
CLICK_HINT = "Click a pixel in any panel to see its bucket and its attention."

# (label, key) of the overlay selector, in menu order.
OVERLAYS: tuple[tuple[str, str], ...] = (
    ("Buckets", "buckets"),
    ("Shared bucket", "shared"),
    ("Attended keys", "attended"),
    ("Attention (this round)", "round"),
    ("Attention (all rounds)", "combined"),
    ("Dense attention", "dense"),
    ("Attribution (LAM)", "lam"),
    ("None", "none"),
)
OVERLAY_PANELS = ("lr", "nlsn")  # compare panels that get the overlay (the marker goes on all)
HEAT_OVERLAYS = ("round", "combined", "dense")
SEEDS = 2**31


class InspectorState:
    def __init__(self) -> None:
        self.inspection: Inspection | None = None
        self.previous: Inspection | None = None  # the inspection before the last re-hash
        self.inspected: Inspected | None = None
        self.view: ModuleView | None = None
        self.query: tuple[int, int] | None = None  # (y, x) in LR pixels
        self.active = False  # the inspector is shown: overlays and markers are drawn
        self.generation = 0  # bumped when the document changes: late results are dropped
        self.inspect_job: int | None = None
        self.view_job: int | None = None
        self.request = 0  # bumped for every view asked for: only the newest is shown

    @property
    def running(self) -> bool:
        return self.inspect_job is not None

    def document_changed(self) -> list[int]:
        """A new image (or a new LR): forget the inspection; returns the jobs to cancel."""
        jobs = [j for j in (self.inspect_job, self.view_job) if j is not None]
        self.generation += 1
        self.inspect_job = self.view_job = None
        self.inspection = self.previous = self.inspected = self.view = None
        self.query = None
        return jobs

    def accept_inspection(self, result: Inspected) -> bool:
        """Take a finished inspection unless it belongs to an image no longer shown."""
        if result.generation != self.generation:
            return False
        self.inspect_job = None
        same_model = self.inspected is not None and self.inspected.model_path == result.model_path
        if self.inspection is None or not same_model:
            self.previous = None  # nothing to compare the buckets with
        elif self.inspection.seed != result.inspection.seed:
            self.previous = self.inspection  # a re-hash: compare with the seed before
        # else: the same seed again, and the comparison with the seed before that still holds
        self.inspection, self.inspected = result.inspection, result
        if self.query is not None and not self._inside(*self.query):
            self.query = None
        return True

    def next_request(self) -> int:
        self.request += 1
        return self.request

    def accept_view(self, view: ModuleView) -> bool:
        if view.request != self.request:
            return False
        self.view = view
        return True

    def _inside(self, y: int, x: int) -> bool:
        cap = self.inspection.modules[0] if self.inspection and self.inspection.modules else None
        return cap is not None and 0 <= y < cap.height and 0 <= x < cap.width

    def select_query(self, y: int, x: int) -> bool:
        """Query LR pixel (y, x), clamped to the image; False when there is nothing inspected."""
        if self.inspection is None or not self.inspection.modules:
            return False
        cap = self.inspection.modules[0]
        self.query = (min(max(int(y), 0), cap.height - 1), min(max(int(x), 0), cap.width - 1))
        return True

    def lr_pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """The LR pixel (y, x) under output coordinates (x, y)."""
        if self.inspection is None:
            return None
        s = self.inspection.scale
        return int(np.floor(y / s)), int(np.floor(x / s))

    def rehash_seed(self, seed: int) -> int:
        """The seed to inspect with next for a re-hash: the next one when ``seed`` is the inspected one."""
        if self.inspection is not None and seed == self.inspection.seed:
            return (self.inspection.seed + 1) % SEEDS
        return seed

    def info_text(self, *, has_document: bool, module: int) -> str:
        if self.inspection is None:
            return "Inspecting…" if self.running else READY_HINT if has_document else HINT
        ins, res = self.inspection, self.inspected
        if not ins.modules:
            return f"{res.model_name} has no sparse-attention module: nothing to inspect"
        cap = ins.modules[max(module, 0)]
        m = cap.buckets.buckets
        hashing = (f"{m} buckets × {cap.n_hashes} rounds, chunk {cap.chunk}" if m
                   else f"one chunk (image smaller than a chunk): dense attention, {cap.n_hashes} rounds")
        return f"{res.model_name} · seed {ins.seed} · {cap.width}×{cap.height} LR · {hashing}"

    def overlay_rgba(self, key: str) -> np.ndarray | None:
        view = self.view
        if view is None or key == "none":
            return None
        if key == "buckets":
            return view.bucket_rgba
        if key == "lam":
            return None  # the attribution's, which the panel holds
        return view.query.overlays[key] if view.query is not None else None

    def legend_kind(self, key: str) -> str:
        """Which legend explains overlay ``key``: "bars" (bucket sizes), "colour bar", "lam" or "mask"."""
        if key == "lam":
            return "lam"
        if key in ("buckets", "none") or self.view is None or self.view.query is None:
            return "bars"
        return "colour bar" if key in HEAT_OVERLAYS else "mask"

    def marker(self) -> tuple[float, float, float] | None:
        """(x0, y0, size) in output pixels of the query pixel, or None."""
        if self.query is None or self.inspection is None:
            return None
        s = self.inspection.scale
        y, x = self.query
        return (x * s, y * s, s)
