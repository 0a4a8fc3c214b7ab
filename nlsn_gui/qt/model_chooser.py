"""Choosing the upscale model: the toolbar's model box, Model > Open Model… and Average Models…."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QFileDialog, QWidget

from core.checkpoints import MODEL_SUFFIXES
from core.train import RunFolder
from nlsn_gui.qt.toolbar import OPEN_MODEL, MainToolbar
from nlsn_gui.state.choices import ModelList
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.store import Store
from nlsn_gui.tasks import models

MODEL_FILTER = f"NLSN models ({' '.join(f'*{s}' for s in MODEL_SUFFIXES)});;All files (*)"


class ModelChooser:
    def __init__(self, parent: QWidget, bar: MainToolbar, models_: ModelList, settings: Store, *,
                 submit: Callable, status: Callable[[str], None], error: Callable[[str], None],
                 scale: Callable[[], int], rescale: Callable[[int], None]) -> None:
        self.parent, self.bar, self.models, self.settings = parent, bar, models_, settings
        self.submit, self.status, self.error = submit, status, error
        self.scale, self.rescale = scale, rescale  # read the scale; switch to another (the image follows)
        bar.model_box.activated.connect(self._activated)

    def refresh(self, select_path: str | None = None) -> None:
        self.bar.show_models(self.models.entries(self.scale()), scale=self.scale(),
                             current=select_path or self.bar.model_box.currentData())

    def _activated(self, _index: int) -> None:
        if self.bar.model_box.currentData() == OPEN_MODEL:
            self.refresh()
            self.open_dialog()

    def use(self, path: Path, label: str, scale: int) -> None:
        """Make ``path`` the upscale model, at its ``scale``."""
        self.models.add(path, label)
        self.rescale(scale)
        self.refresh(select_path=str(path))
        # The worker caches models by path: drop them so the file as it is now is read.
        self.submit(Job("forget models", "Forget cached models", window=False), models.forget_models)

    def _start_dir(self) -> str:
        return str(self.settings.value("files/model_dir", str(Path.home())))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open NLSN model", self._start_dir(), MODEL_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> None:
        """Check a model file on the worker; on success it becomes the model of its scale."""
        self.settings.setValue("files/model_dir", str(path.parent))
        self.submit(Job("model", f"Loading model {path.name}", done=self._loaded), models.inspect_model(path))

    def average_dialog(self, run_dir: Path | None) -> None:
        """Pick model files (the run's snapshots, say) and a target; the average becomes the model."""
        snapshots = RunFolder(run_dir).snapshots if run_dir is not None else None
        start = str(snapshots) if snapshots is not None and snapshots.is_dir() else self._start_dir()
        paths, _ = QFileDialog.getOpenFileNames(self.parent, "Models to average (one configuration)", start,
                                                MODEL_FILTER)
        if not paths:
            return
        if len(paths) < 2:
            self.error("Choose two or more model files to average (e.g. a run's snapshots, with Shift).")
            return
        paths = [Path(p) for p in paths]
        run = RunFolder.of_snapshot(paths[0])  # a run's snapshots: the average goes beside its models
        target = run.model_average if run is not None else paths[0].parent / "average.safetensors"
        out, _ = QFileDialog.getSaveFileName(self.parent, "Save the average as", str(target),
                                             "NLSN models (*.safetensors)")
        if out:
            self.average(paths, Path(out))

    def average(self, paths: list[Path], out: Path) -> None:
        """Average ``paths`` into ``out`` on the worker; on success it becomes the model of its scale."""
        if out.suffix.lower() != ".safetensors":
            out = out.with_name(out.name + ".safetensors")
        self.settings.setValue("files/model_dir", str(out.parent))
        self.submit(Job("model", f"Averaging {len(paths)} models into {out.name}", done=self._loaded),
                    models.average_models(paths, out))

    def _loaded(self, info: models.ModelInfo) -> None:
        self.models.add(info.path, f"{info.path.name} ({info.source}, ×{info.scale})")
        self.rescale(info.scale)
        self.refresh(select_path=str(info.path))
        self.status(f"Model {info.path.name}: {info.description}")
