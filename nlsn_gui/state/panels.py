"""What the compare view shows, without Qt: its panels, the readout under the cursor, the grid,
and the panels and status line of a document."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.eval.compare import changed_share
from nlsn_gui.state.choices import Selection
from nlsn_gui.state.document import Document, Made


FULL_GRID_SHARE = 0.85  # a grid without holes may have images this much smaller than the largest


@dataclass
class Panel:
    """One image shown by the comparison view."""

    key: str  # "lr", "bicubic", "nlsn", "hr", "diff"
    title: str  # shown above the panel, e.g. "LR (nearest)"
    pixels: np.ndarray  # (h, w, 3) / (h, w, 4) uint8 RGB(A), or (h, w) float32 for a difference map
    scale: int = 1  # display magnification into output coordinates (LR panel: the SR factor)
    colour_map: str | None = None  # e.g. "inferno" for the difference map (levels 0..max)
    subtitle: str = ""  # e.g. "PSNR 31.20 dB · SSIM 0.8871"


@dataclass
class CursorInfo:
    """What lies under the mouse cursor, in every panel currently shown."""

    x: int  # output-pixel coordinates
    y: int
    values: dict[str, tuple]  # panel key -> pixel value(s) at that panel's own resolution
    # Extras used by text(); filled in by CompareView.
    titles: dict[str, str] = field(default_factory=dict)  # panel key -> short title
    coords: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (x, y) in the panel's own pixels
    key: str | None = None  # the panel the mouse is over (None when computed programmatically)

    def text(self) -> str:
        """One line, e.g. ``x 120  y 45 │ LR (60, 22) 120 131 140 │ Bicubic 118 129 141 │ …``."""
        parts = [f"x {self.x}  y {self.y}"]
        for key, vals in self.values.items():
            name = self.titles.get(key, key)
            cx, cy = self.coords.get(key, (self.x, self.y))
            where = f" ({cx}, {cy})" if (cx, cy) != (self.x, self.y) else ""
            parts.append(f"{name}{where} " + " ".join(_format_value(v) for v in vals))
        return " │ ".join(parts)


def _format_value(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def short_title(title: str) -> str:
    """'LR (nearest)' -> 'LR': drop a trailing parenthesised note for the compact readout."""
    t = title.strip()
    if t.endswith(")") and " (" in t:
        t = t[: t.rindex(" (")].strip()
    return t or title


def choose_grid(
    n: int,
    avail_w: float,
    avail_h: float,
    img_w: float,
    img_h: float,
    *,
    title_h: float = 0.0,
    spacing: float = 0.0,
) -> tuple[int, int]:
    """(rows, cols) for ``n`` panels that makes each (img_w x img_h) image largest.

    Each cell is ``avail / count`` minus the spacing, and loses ``title_h`` at the top
    for its title.  Layouts with a completely empty row are skipped.  A full grid wins when its
    images are at least 85 % the size of the largest possible (three panels in a row rather than
    a 2 x 2 with an empty quadrant: holes in the grid are dead space); otherwise, among layouts
    within 2 % of the largest image size, the one with the fewest empty cells and then the
    fewest rows (side by side is what a comparison wants).
    """
    if n <= 0:
        return (0, 0)
    img_w, img_h = max(img_w, 1e-6), max(img_h, 1e-6)
    candidates = []  # (scale, empty cells, rows, cols)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if (rows - 1) * cols >= n:
            continue
        cell_w = (avail_w - spacing * (cols - 1)) / cols
        cell_h = (avail_h - spacing * (rows - 1)) / rows - title_h
        scale = min(cell_w / img_w, cell_h / img_h) if cell_w > 0 and cell_h > 0 else 0.0
        candidates.append((scale, rows * cols - n, rows, cols))
    top = max(c[0] for c in candidates)
    full = [c for c in candidates if c[1] == 0 and c[0] >= FULL_GRID_SHARE * top]
    if full:
        _, _, rows, cols = max(full, key=lambda c: (c[0], -c[2]))
        return (rows, cols)
    near = [c for c in candidates if c[0] >= 0.98 * top]
    _, _, rows, cols = min(near, key=lambda c: (c[1], c[2]))
    return (rows, cols)


def stale_note(made: Made | None, selection: Selection, *, named: bool = False) -> str:
    """'' when the result is what the current choices make, else what it was made with (``named``:
    the model is in the title already, only the seed is said)."""
    if made is None:
        return ""
    parts = []
    if not named and selection.model is not None and made.model != selection.model:
        parts.append(made.model_name)
    if made.rounds != selection.rounds:
        parts.append(f"{made.rounds} round{'s' if made.rounds != 1 else ''}" if made.rounds else "the model's rounds")
    if made.seed != selection.seed:
        parts.append(f"seed {made.seed}")
    return f"made with {', '.join(parts)}" if parts else ""


def compared_key(model: str) -> str:
    """The panel key of another model's result."""
    return f"model:{model}"


def current_title(doc: Document) -> str:
    """The current result's title: ``NLSN`` alone, its model's name among several or when it is
    another architecture."""
    made = doc.made
    if made is None or (made.architecture == "NLSN" and not doc.compared):
        return "NLSN"
    return made.title()


def document_panels(doc: Document, *, note: str = "") -> list[Panel]:
    """LR (in output coordinates), bicubic, the other models' results, the current one, the truth
    and one result's |difference| from it, as far as computed; ``note`` says how the current result
    differs from the current choices (:func:`stale_note`)."""
    c, d = doc.comparison, doc.displays
    panels = [Panel("lr", "LR (nearest)", d["lr"], scale=c.scale, subtitle=f"{c.lr.width}×{c.lr.height}")]
    if "bicubic" in d:
        panels.append(Panel("bicubic", "Bicubic", d["bicubic"],
                            subtitle=c.bicubic_scores.text() if c.bicubic_scores else ""))
    for model, other in doc.compared.items():
        panels.append(Panel(compared_key(model), other.made.title(), other.display,
                            subtitle=other.scores.text() if other.scores else ""))
    if "nlsn" in d and c.sr is not None:
        title = current_title(doc)
        panels.append(Panel("nlsn", f"{title} ({note})" if note else title, d["nlsn"],
                            subtitle=c.sr_scores.text() if c.sr_scores else ""))
    if "hr" in d:
        panels.append(Panel("hr", "HR (truth)", d["hr"], subtitle=f"{c.hr.width}×{c.hr.height}"))
    between = doc.difference_between()
    if between is not None:
        other = doc.compared[doc.diff_between]
        name = f"|{short_title(current_title(doc))} − {short_title(other.made.title())}|"
        changed = changed_share(between)
        panels.append(Panel("diff", name, between, colour_map="inferno",
                            subtitle=f"mean {float(between.mean()):.2f} · max {float(between.max()):.0f} · "
                                     f"{changed:.1%} differ by > 1"))
        return panels
    other = doc.compared.get(doc.diff_of) if doc.diff_of is not None else None
    diff, name = (other.diff, short_title(other.made.title())) if other is not None else (c.diff, short_title(current_title(doc)))
    if diff is not None and c.sr is not None:
        panels.append(Panel("diff", f"|{name} − HR|", diff, colour_map="inferno",
                            subtitle=f"mean {float(diff.mean()):.2f}"))
    return panels


def swipe_pair(doc: Document) -> tuple[str, str]:
    """What a swipe compares first: NLSN against the truth, or against bicubic without one."""
    return ("nlsn", "hr" if "hr" in doc.displays else "bicubic")


def opened_text(doc: Document) -> tuple[str, str]:
    """(status line, size) once a document is shown."""
    c = doc.comparison
    size = size_text(c, None)
    hint = "Simulated LR from the HR image" if c.mode == "simulate" else "Ready to upscale"
    return f"{doc.name}: {hint} (Ctrl+Enter)", size


def size_text(c, size) -> str:
    """The status bar's sizes: LR -> NLSN's output (-> what Save writes, when another size)."""
    text = f"{c.lr.width}×{c.lr.height} → {c.lr.width * c.scale}×{c.lr.height * c.scale}"
    if size is not None and (size.width, size.height) != (c.lr.width * c.scale, c.lr.height * c.scale):
        text += f" → saved {size.width}×{size.height}"
    return text


def kept_text(doc: Document, status: str, *, came_back: bool) -> str:
    """The status line once a document is prepared again: which NLSN results are kept aside."""
    c = doc.comparison
    if came_back:
        return f"{doc.name}: the ×{c.scale} NLSN result is back"
    kept = sorted(scale for mode, scale in doc.kept if mode == c.mode)
    if not kept:
        return status
    which = " and ".join(f"×{s}" for s in kept)
    return f"{status} · the {which} NLSN result is kept: it comes back with its scale"


def result_text(doc: Document, *, device: str, how: str, model_name: str) -> str:
    """The status line after an upscale: time, where, how, with which model, and the scores."""
    c = doc.comparison
    architecture = doc.made.architecture if doc.made is not None else "NLSN"
    text = f"{architecture} ×{c.scale} in {c.seconds:.1f} s on {device} ({how}) with {model_name}"
    if c.sr_scores is not None and c.bicubic_scores is not None:
        gain = c.sr_scores.psnr - c.bicubic_scores.psnr
        text += f" · {c.sr_scores.text()} ({gain:+.2f} dB over bicubic)"
    if doc.compared:
        text += f" · {len(doc.compared) + 1} results compared"
    return text


def default_swipe_pair(keys: list[str]) -> tuple[str, str] | None:
    """NLSN (else the last panel) on the right, bicubic (else the first other one) on the left."""
    if not keys:
        return None
    right = "nlsn" if "nlsn" in keys else keys[-1]
    others = [k for k in keys if k != right]
    left = "bicubic" if "bicubic" in others else (others[0] if others else right)
    return (left, right)
