"""Batch: upscale every image of a folder with the main window's model, scale, device and seed."""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QUrl, Qt
from PySide6.QtGui import QDesktopServices
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

from core.base.text import format_duration
from core.inference.batch import BatchItem
from nlsn_gui.qt.host import Host
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.store import read_bool
from nlsn_gui.tasks.batch import batch_job

FORMATS = [("Same as the input", None), ("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("WebP", ".webp")]


class BatchDialog(QDialog):
    def __init__(self, host: Host, *, parent=None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.job_id: int | None = None
        self.setWindowTitle("Batch process a folder")
        self.setMinimumWidth(620)
        settings = host.settings

        self.input_edit = QLineEdit(str(folder or settings.value("batch/input", "")))
        self.output_edit = QLineEdit(str(settings.value("batch/output", "")))
        self.format_box = QComboBox()
        for label, ext in FORMATS:
            self.format_box.addItem(label, ext)
        index = self.format_box.findData(settings.value("batch/format", None))
        self.format_box.setCurrentIndex(max(index, 0))
        self.skip_box = QCheckBox("Skip images already done with this model and seed")
        self.skip_box.setToolTip("The output folder's .nlsn-batch.json says which model, seed and scale made each "
                                 "file; a file made otherwise is made again")
        self.skip_box.setChecked(read_bool(settings, "batch/skip", True))

        form = QFormLayout()
        form.addRow("Input folder", self._with_browse(self.input_edit, "Choose the input folder"))
        form.addRow("Output folder", self._with_browse(self.output_edit, "Choose the output folder"))
        form.addRow("Format", self.format_box)
        form.addRow("", self.skip_box)
        sel = host.selection()
        self.summary = QLabel(f"Model {sel.model_label}, ×{sel.scale}, {sel.device_label}, "
                              f"seed {sel.seed} (as in the main window)")
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
        self.open_button = self.buttons.addButton("Open Output Folder", QDialogButtonBox.ActionRole)
        self.open_button.setToolTip("Show the results in the file manager")
        self.open_button.clicked.connect(self.open_output)
        self.open_button.setEnabled(False)
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
                self.output_edit.setText(str(self._default_output(Path(folder))))

    def _default_output(self, folder: Path) -> Path:
        return folder.parent / f"{folder.name}_nlsn_x{self.host.selection().scale}"

    def start(self) -> None:
        folder, out = Path(self.input_edit.text().strip()), self.output_edit.text().strip()
        if not self.input_edit.text().strip() or not folder.is_dir():
            self.status.setText("Choose an existing input folder")
            return
        out_dir = Path(out) if out else self._default_output(folder)
        self.output_edit.setText(str(out_dir))
        sel = self.host.selection()
        if sel.model is None:
            self.status.setText(f"No x{sel.scale} model is selected in the main window")
            return
        s = self.host.settings
        s.setValue("batch/input", str(folder))
        s.setValue("batch/output", str(out_dir))
        s.setValue("batch/format", self.format_box.currentData())
        s.setValue("batch/skip", self.skip_box.isChecked())
        self.results.clear()
        run, target = self.host.run_options(), self.host.output_target()
        self.job_id = self.host.submit(
            Job("batch", f"Batch {folder.name}", done=self._finished, failed=self._failed,
                cancelled=self._cancelled, progress=self._progress),
            batch_job(folder, out_dir, model=sel.model, scale=sel.scale, device=sel.device, seed=sel.seed,
                      extension=self.format_box.currentData(), skip_existing=self.skip_box.isChecked(),
                      ensemble=run.ensemble, precision=run.precision, memory_budget=run.budget(), tile=run.tile,
                      quality=run.quality, size_for=target.plan if target is not None else None),
        )
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Starting…")
        self._running(True)

    def stop(self) -> None:
        if self.job_id is not None:
            self.host.cancel(self.job_id)
            self.status.setText("Stopping…")

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _progress(self, fraction: float, message: str, eta: float) -> None:
        self.progress.setValue(int(fraction * 1000))
        eta_text = f" · about {format_duration(eta)} left" if math.isfinite(eta) else ""
        self.status.setText(f"{message}{eta_text}")

    def _finished(self, items: list[BatchItem]) -> None:
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
        self.open_button.setEnabled(Path(self.output_edit.text().strip()).is_dir())

    def open_output(self) -> bool:
        folder = Path(self.output_edit.text().strip())
        return folder.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _failed(self, message: str) -> None:
        self.job_id = None
        self._running(False)
        self.status.setText(f"Error: {message}")

    def _cancelled(self) -> None:
        self.job_id = None
        self._running(False)
        self.status.setText("Stopped; images already written are kept (run again to finish, skipping them)")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.stop()
        super().closeEvent(event)

    def reject(self) -> None:
        self.stop()
        super().reject()

