"""The run folder: every file a training run writes, named in one place.

``config.json`` (the :class:`~core.train.config.TrainConfig`), ``metrics.jsonl`` (one JSON object
per logged step; validation lines add ``psnr``/``ssim``), ``checkpoints/last.pt`` (everything a
resume needs), ``model_last.safetensors`` / ``model_best.safetensors`` (ready to upscale with),
``snapshots/step_XXXXXXXX.safetensors`` (``--keep-every``), ``previews/XXXXXXXX.png`` (validation
crops), ``tb/`` (TensorBoard) and ``cache/`` (the prepared training pairs).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunFolder:
    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint(self) -> Path:
        """The resume checkpoint: model, optimizer, step, best PSNR, elapsed time."""
        return self.path / "checkpoints" / "last.pt"

    @property
    def model_last(self) -> Path:
        return self.path / "model_last.safetensors"

    @property
    def model_best(self) -> Path:
        return self.path / "model_best.safetensors"

    @property
    def model_average(self) -> Path:
        """Where the app proposes to write the average of the run's snapshots."""
        return self.path / "model_average.safetensors"

    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    @property
    def previews(self) -> Path:
        return self.path / "previews"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tb"

    @property
    def cache(self) -> Path:
        return self.path / "cache"

    def snapshot(self, step: int) -> Path:
        return self.snapshots / f"step_{step:08d}.safetensors"

    def preview(self, step: int) -> Path:
        return self.previews / f"{step:08d}.png"

    def preview_files(self) -> list[tuple[int, Path]]:
        """(step, file) of the saved previews, oldest first."""
        found = [(int(p.stem), p) for p in self.previews.glob("[0-9]*.png") if p.stem.isdigit()]
        return sorted(found)

    def is_run(self) -> bool:
        """Whether the folder holds a run (its settings or its log)."""
        return self.config.is_file() or self.metrics.is_file()

    def model_file(self, which: str = "best") -> Path | None:
        """The best (``best``) or newest (``last``) model, else the other one; None before the first."""
        order = (self.model_best, self.model_last) if which == "best" else (self.model_last, self.model_best)
        return next((path for path in order if path.is_file()), None)

    @staticmethod
    def of_snapshot(path: Path) -> "RunFolder | None":
        """The run a snapshot file belongs to (its folder is a run's ``snapshots``), else None."""
        folder = Path(path).parent
        return RunFolder(folder.parent) if folder.name == "snapshots" else None

    def read_metrics(self) -> list[dict[str, Any]]:
        """The records of ``metrics.jsonl`` (lines cut by a kill are skipped)."""
        records = []
        if self.metrics.is_file():
            for line in self.metrics.read_text().splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records
