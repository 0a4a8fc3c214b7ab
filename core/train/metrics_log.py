"""A run's log: ``metrics.jsonl`` (one JSON object per line) and TensorBoard's event files.

Only the main process of a distributed run writes; on the others every method does nothing.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from core.base.fileio import atomic_write
from core.train.run_folder import RunFolder


class MetricsLog:
    def __init__(self, folder: RunFolder, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._tb = None

    def truncate_after(self, step: int) -> None:
        """After a resume, drop the lines written after the checkpoint (they will be redone)."""
        path = self.folder.metrics
        if not self.enabled or not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut by a kill
        atomic_write(path, ("\n".join(kept) + "\n").encode() if kept else b"")

    def open_tensorboard(self, step: int, *, warn: Callable[[str], None]) -> None:
        if not self.enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            warn("tensorboard is not installed: no event files are written")
            return
        self._tb = SummaryWriter(str(self.folder.tensorboard), purge_step=step or None)

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.folder.metrics, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self._tb is not None:
            group = "val" if "psnr" in record else "train"
            for key, value in record.items():
                if key not in ("step", "time") and isinstance(value, (int, float)):
                    self._tb.add_scalar(f"{group}/{key}", value, record["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
