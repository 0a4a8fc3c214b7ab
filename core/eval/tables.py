"""Score tables of one or several methods on a benchmark set: plain text for the terminal, Markdown
and CSV to paste into a paper, and the JSON of ``nlsn eval``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from core.eval.protocol import ImageScore

FORMATS = ("text", "markdown", "csv")


@dataclass
class MethodScores:
    """One method's scores on a set: a model (by file name) or bicubic."""

    name: str
    architecture: str  # "NLSN", "RCAN", ... or "bicubic"
    scores: list[ImageScore]
    seconds: float = 0.0
    params: int = 0  # 0 for bicubic
    extra: dict = field(default_factory=dict)  # e.g. the model file

    @property
    def psnr(self) -> float:
        return float(np.mean([s.psnr for s in self.scores]))

    @property
    def ssim(self) -> float:
        return float(np.mean([s.ssim for s in self.scores]))

    def to_json(self) -> dict:
        return {
            "name": self.name, "architecture": self.architecture, "params": self.params,
            "psnr": round(self.psnr, 4), "ssim": round(self.ssim, 6),
            "images": [{"name": s.name, "psnr": round(s.psnr, 4), "ssim": round(s.ssim, 6)} for s in self.scores],
            "seconds": round(self.seconds, 3), **self.extra,
        }


def _rows(methods: list[MethodScores], *, per_image: bool, exact: bool = False) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per method, or with ``per_image`` one per image and a mean row,
    a PSNR / SSIM column pair per method. ``exact``: more digits and plain numbers (CSV)."""
    def pair(p: float, s: float) -> tuple[str, str]:
        return (f"{p:.4f}", f"{s:.6f}") if exact else (f"{p:.2f}", f"{s:.4f}")

    if not per_image:
        header = ["method", "architecture", "params", "PSNR", "SSIM", "seconds"]
        rows = []
        for m in methods:
            params = str(m.params) if exact else (f"{m.params / 1e6:.2f} M" if m.params else "—")
            rows.append([m.name, m.architecture, params, *pair(m.psnr, m.ssim), f"{m.seconds:.{3 if exact else 1}f}"])
        return header, rows
    header = ["image"] + [f"{m.name} {what}" if len(methods) > 1 else what
                          for m in methods for what in ("PSNR", "SSIM")]
    rows = [[s.name] + [v for m in methods for v in pair(m.scores[i].psnr, m.scores[i].ssim)]
            for i, s in enumerate(methods[0].scores)]
    rows.append(["mean"] + [v for m in methods for v in pair(m.psnr, m.ssim)])
    return header, rows


def best_marks(methods: list[MethodScores]) -> set[tuple[int, str]]:
    """(method index, 'psnr'/'ssim') of the best mean scores, bolded in Markdown as papers do."""
    if len(methods) < 2:
        return set()
    return {(int(np.argmax([m.psnr for m in methods])), "psnr"), (int(np.argmax([m.ssim for m in methods])), "ssim")}


def format_table(methods: list[MethodScores], *, fmt: str = "text", per_image: bool = False,
                 title: str = "") -> str:
    """The methods' scores as ``fmt`` (:data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    header, rows = _rows(methods, per_image=per_image, exact=fmt == "csv")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()
    if fmt == "markdown":
        if not per_image:
            for index, what in best_marks(methods):
                column = header.index(what.upper())
                rows[index][column] = f"**{rows[index][column]}**"
        lines = [f"**{title}**", ""] if title else []
        lines.append("| " + " | ".join(header) + " |")
        text_columns = 1 if per_image else 2  # names left, numbers right
        lines.append("|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in rows]
    return "\n".join(lines) + "\n"
