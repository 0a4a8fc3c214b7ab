"""The attention overview's state without Qt: the overview shown, the statistics of the inspection
(computed once), which late results still apply, and the table's texts."""

from __future__ import annotations

from core.inspection import Inspection
from core.inspection.overview import ALL_ROUNDS, stats_csv
from nlsn_gui.tasks.overview import Overview

COLUMNS = ("Module", "Round", "Balance", "Largest", "Empty", "Distance", "Non-local")
TOOLTIPS = (
    "Sparse-attention module (its index in the network body)",
    "Hash round; 'all': the rounds combined as the network combines them",
    "Entropy of the bucket sizes over log(buckets): 1 when every bucket holds as many pixels",
    "Share of the pixels in the largest bucket",
    "Buckets with no pixel",
    "Mean distance in LR pixels from a query to its keys, weighted by attention, over every query",
    "Mean share of a query's attention outside the 7×7 window around it, over every query",
)


class OverviewState:
    def __init__(self) -> None:
        self.inspection: Inspection | None = None
        self.overview: Overview | None = None
        self.job: int | None = None
        self.request = 0

    def set_inspection(self, inspection: Inspection | None) -> bool:
        """A new inspection (or none): True when it differs from the one shown."""
        if inspection is self.inspection:
            return False
        self.inspection, self.overview = inspection, None
        return True

    def stats(self):
        """The statistics already computed for this inspection, or None."""
        return self.overview.stats if self.overview is not None else None

    def next_request(self) -> int:
        self.request += 1
        return self.request

    def accept(self, overview: Overview) -> bool:
        if overview.request != self.request:
            return False
        self.job, self.overview = None, overview
        return True

    def table(self) -> list[tuple[str, ...]]:
        if self.overview is None:
            return []
        return [(str(s.module + 1), "all" if s.round == ALL_ROUNDS else str(s.round + 1), f"{s.balance:.3f}",
                 f"{s.largest_bucket:.1%}", f"{s.empty_buckets:.0f}" if s.round != ALL_ROUNDS else f"{s.empty_buckets:.1f}",
                 f"{s.mean_distance:.1f} px", f"{s.nonlocal_share:.1%}") for s in self.overview.stats]

    def csv(self) -> str:
        return stats_csv(self.overview.stats) if self.overview is not None else ""

    def caption(self, model_name: str) -> str:
        ov, ins = self.overview, self.inspection
        if ov is None or ins is None or not ins.modules:
            return ""
        cap = ins.modules[0]
        what = (f"attention of LR pixel x {ov.query[1]}, y {ov.query[0]} per round and combined (log scale, "
                "one per module)" if ov.query is not None else "bucket of every pixel per round")
        return f"{model_name} · seed {ins.seed} · {cap.width}×{cap.height} LR · {what}"
