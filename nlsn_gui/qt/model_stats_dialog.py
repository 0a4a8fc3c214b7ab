"""Model > Model Statistics…: what the chosen model costs for the opened image's size (parameters,
FLOPs, time and memory, per stage), measured on the worker as ``nlsn stats`` measures it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, \
    QVBoxLayout

from core.base.text import format_bytes
from nlsn_gui.state.jobs import Job
from nlsn_gui.tasks.models import model_statistics

DEFAULT_SIZE = (256, 256)  # LR pixels, without an opened image


class ModelStatsDialog(QDialog):
    def __init__(self, parent, name: str, stats) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model Statistics — {name}")
        memory = (format_bytes(stats.peak_bytes) + (" measured" if stats.peak_measured else " estimated")
                  if stats.peak_bytes else "not known on this device")
        summary = QLabel(
            f"<b>{name}</b>: {stats.architecture} ×{stats.scale} for a {stats.width}×{stats.height} input "
            f"on {stats.device.upper()}<br>{stats.params:,} parameters · {stats.flops / 1e9:.2f} GFLOPs · "
            f"{stats.seconds:.2f} s a forward · peak memory {memory}", self)
        self.table = QTableWidget(len(stats.stages), 5, self)
        self.table.setHorizontalHeaderLabels(["stage", "parameters", "GFLOPs", "share", "seconds"])
        for row, s in enumerate(stats.stages):
            share = s.flops / stats.flops if stats.flops else 0.0
            for col, text in enumerate((s.name, f"{s.params:,}", f"{s.flops / 1e9:.3f}", f"{share:.1%}",
                                        f"{s.seconds:.3f}")):
                item = QTableWidgetItem(text)
                if col:  # numbers right-aligned
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (summary, self.table, buttons):
            layout.addWidget(widget)
        self.resize(560, 520)


class ModelStatistics:
    """The action and its job: the selected model, at the opened image's LR size."""

    def __init__(self, window) -> None:
        self.window = window
        self.last: ModelStatsDialog | None = None

    def install(self, model_menu, *, after) -> None:
        from nlsn_gui.qt.menus import insert_after, make_action

        self.action = make_action(self.window, "Model S&tatistics…", self.run,
                                  tip="Parameters, FLOPs, time and memory of the chosen model for this image's "
                                      "size, per stage")
        insert_after(model_menu, after, self.action)

    def run(self) -> None:
        sel = self.window.selection()
        if sel.model is None:
            self.window._show_error(sel.no_model_message())
            return
        c = sel.document.comparison if sel.document is not None else None
        width, height = (c.lr.width, c.lr.height) if c is not None else DEFAULT_SIZE
        self.window.submit(Job("model", f"Measuring {sel.model_label} at {width}×{height}", done=self._show),
                           model_statistics(sel.model, width=width, height=height, device=sel.device))

    def _show(self, result) -> None:
        name, stats = result
        self.window._set_status(f"{name}: {stats.params:,} parameters, {stats.flops / 1e9:.2f} GFLOPs for "
                                f"{stats.width}×{stats.height}, {stats.seconds:.2f} s a forward")
        self.last = ModelStatsDialog(self.window, name, stats)
        self.last.show()
