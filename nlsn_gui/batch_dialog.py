"""Batch: upscale every image of a folder with the main window's model, scale, device and seed."""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.inference.batch import batch_upscale, folder_images

FORMATS = [("Same as the input", None), ("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("WebP", ".webp")]


def batch_job(folder: Path, out_dir: Path, *, model: str, scale: int, device: str, seed: int,
              extension: str | None, skip_existing: bool):
    """The worker-thread job: returns the list of :class:`core.eval.compare.BatchItem`."""

    def run(ctx):
        sources = folder_images(folder)
        _, upscaler = ctx.models.upscaler(model, scale=scale, device=device)

        def one(image, *, progress, cancel):
            return upscaler.upscale_image(image, seed=seed, progress=progress, cancel=cancel)

        def progress(index, total, fraction, name, _detail):
            ctx.progress((index + fraction) / max(total, 1), f"{min(index + 1, total)}/{total} {name}")

        return batch_upscale(sources, out_dir, upscale_fn=one, scale=scale, extension=extension,
                             skip_existing=skip_existing, progress=progress, cancel=ctx.cancelled)

    return run


class BatchDialog(QDialog):
    def __init__(self, window, *, folder: Path | None = None) -> None:
        super().__init__(window)
        self.window_ = window
        self.job_id: int | None = None
        self.setWindowTitle("Batch process a folder")
        self.setMinimumWidth(620)
        settings = window.settings

        self.input_edit = QLineEdit(str(folder or settings.value("batch/input", "")))
        self.output_edit = QLineEdit(str(settings.value("batch/output", "")))
        self.format_box = QComboBox()
        for label, ext in FORMATS:
            self.format_box.addItem(label, ext)
        index = self.format_box.findData(settings.value("batch/format", None))
        self.format_box.setCurrentIndex(max(index, 0))
        self.skip_box = QCheckBox("Skip images already done (their output file exists)")
        self.skip_box.setChecked(str(settings.value("batch/skip", "true")).lower() == "true")

        form = QFormLayout()
        form.addRow("Input folder", self._with_browse(self.input_edit, "Choose the input folder"))
        form.addRow("Output folder", self._with_browse(self.output_edit, "Choose the output folder"))
        form.addRow("Format", self.format_box)
        form.addRow("", self.skip_box)
        model = window.model_box.currentText()
        self.summary = QLabel(f"Model {model}, ×{window.scale}, {window.device_box.currentText()}, "
                              f"seed {window.seed_box.value()} (as in the main window)")
        self.summary.setWordWrap(True)
        form.addRow("Settings", self.summary)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = QLabel("")
        self.results = QListWidget()
        self.results.setMinimumHeight(160)

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.stop_button = self.buttons.addButton("Stop", QDialogButtonBox.RejectRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.stop_button.setEnabled(False)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.buttons)

        w = window.worker.worker
        w.progress.connect(self._progress)
        w.finished.connect(self._finished)
        w.failed.connect(self._failed)
        w.cancelled.connect(self._cancelled)

    def _with_browse(self, edit: QLineEdit, title: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setAutoDefault(False)  # Enter starts the batch, it does not open a file dialog
        button.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(button)
        return box

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)
            if edit is self.input_edit and not self.output_edit.text():
                self.output_edit.setText(str(Path(folder).parent / f"{Path(folder).name}_nlsn_x{self.window_.scale}"))

    def start(self) -> None:
        win = self.window_
        folder, out = Path(self.input_edit.text().strip()), self.output_edit.text().strip()
        if not self.input_edit.text().strip() or not folder.is_dir():
            self.status.setText("Choose an existing input folder")
            return
        out_dir = Path(out) if out else folder.parent / f"{folder.name}_nlsn_x{win.scale}"
        self.output_edit.setText(str(out_dir))
        model = win.model_path()
        if model is None:
            self.status.setText(f"No x{win.scale} model is selected in the main window")
            return
        s = win.settings
        s.setValue("batch/input", str(folder))
        s.setValue("batch/output", str(out_dir))
        s.setValue("batch/format", self.format_box.currentData())
        s.setValue("batch/skip", self.skip_box.isChecked())
        self.results.clear()
        self.job_id = win.worker.submit(
            f"Batch {folder.name}",
            batch_job(folder, out_dir, model=model, scale=win.scale, device=str(win.device_box.currentData()),
                      seed=win.seed_box.value(), extension=self.format_box.currentData(),
                      skip_existing=self.skip_box.isChecked()),
        )
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Starting…")
        self._running(True)

    def stop(self) -> None:
        if self.job_id is not None:
            self.window_.worker.cancel(self.job_id)
            self.status.setText("Stopping…")

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _progress(self, job_id: int, fraction: float, message: str, eta: float) -> None:
        if job_id != self.job_id:
            return
        self.progress.setValue(int(fraction * 1000))
        eta_text = f" · about {math.ceil(eta)} s left" if math.isfinite(eta) else ""
        self.status.setText(f"{message}{eta_text}")

    def _finished(self, job_id: int, items) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        self._running(False)
        self.progress.setValue(1000)
        counts = {k: sum(1 for i in items if i.status == k) for k in ("done", "skipped", "failed")}
        for item in items:
            text = {"done": f"✓ {item.source.name} → {item.target.name} ({item.seconds:.1f} s)",
                    "skipped": f"– {item.source.name}: already done",
                    "failed": f"✗ {item.source.name}: {item.message}"}[item.status]
            entry = QListWidgetItem(text)
            entry.setData(Qt.UserRole, str(item.target))
            self.results.addItem(entry)
        self.status.setText(f"{counts['done']} upscaled, {counts['skipped']} skipped, {counts['failed']} failed")

    def _failed(self, job_id: int, message: str) -> None:
        if job_id == self.job_id:
            self.job_id = None
            self._running(False)
            self.status.setText(f"Error: {message}")

    def _cancelled(self, job_id: int) -> None:
        if job_id == self.job_id:
            self.job_id = None
            self._running(False)
            self.status.setText("Stopped; images already written are kept (run again to finish, skipping them)")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.stop()
        super().closeEvent(event)

    def reject(self) -> None:
        self.stop()
        super().reject()

