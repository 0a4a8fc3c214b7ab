"""Comparing several models on the opened image: Model > Compare Models… (each model's result a
panel, linked with the others), View > Error Map Of (whose |result − HR| is mapped), and Model >
Clear Compared Results."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
)

from nlsn_gui.state.choices import ModelEntry, ModelList
from nlsn_gui.state.document import Document

MODEL_FILES = "Model files (*.safetensors *.pt *.pth *.ckpt);;All files (*)"


class CompareModelsDialog(QDialog):
    """A check list of the models of the scale (and any file added): the ticked ones are run."""

    def __init__(self, parent, entries: list[ModelEntry], *, ticked: set[str], scale: int,
                 start_dir: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare Models")
        self.start_dir = start_dir
        intro = QLabel(f"Run these ×{scale} models on the image; each result becomes a panel beside the "
                       "others (NLSN, or any architecture spandrel knows: ESRGAN, RCAN, SwinIR, HAT…). "
                       "Bicubic is always shown.", self)
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        for entry in entries:
            self._add_item(entry.label, entry.path, entry.path in ticked)
        add = QPushButton("Add Model File…", self)
        add.clicked.connect(self._add_file)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.run_button = buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.list, add, buttons):
            layout.addWidget(widget)
        self.resize(520, 360)

    def _add_item(self, label: str, path: str, ticked: bool) -> None:
        item = QListWidgetItem(label, self.list)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def _add_file(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add models to compare", self.start_dir, MODEL_FILES)
        for path in paths:
            self._add_item(Path(path).name, path, True)

    def chosen(self) -> list[str]:
        items = [self.list.item(i) for i in range(self.list.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]


def run_order(chosen: list[str], current: str | None) -> list[str]:
    """The toolbar's model last, so its result is the current one (Save, the inspector) at the end."""
    unique = list(dict.fromkeys(chosen))
    return [p for p in unique if p != current] + [p for p in unique if p == current]


class ModelComparison:
    """The window's part of comparing models: the dialog, the runs, the error-map choice."""

    def __init__(self, *, parent, models: ModelList, document: Callable[[], Document | None],
                 scale: Callable[[], int], current_model: Callable[[], str | None],
                 run: Callable[[str], None], refresh: Callable[[], None], status: Callable[[str], None],
                 settings) -> None:
        self.parent, self.models, self.document, self.scale = parent, models, document, scale
        self.current_model, self.run, self.refresh, self.status = current_model, run, refresh, status
        self.settings = settings

    def install(self, window, *, model_menu: QMenu, view_menu: QMenu) -> None:
        """Model > Compare Models… and Clear Compared Results, View > Error Map Of."""
        from nlsn_gui.qt.menus import make_action

        self.act_dialog = make_action(window, "Compare &Models…", self.dialog, "Ctrl+Shift+M",
                                      tip="Run several models (NLSN or other architectures) on the image, "
                                          "side by side")
        self.act_clear = make_action(window, "C&lear Compared Results", self.clear,
                                     tip="Keep only the current model's result")
        first = model_menu.actions()[2] if len(model_menu.actions()) > 2 else None
        model_menu.insertActions(first, [self.act_dialog, self.act_clear])
        self.error_menu = view_menu.addMenu("&Difference Map")
        self.error_menu.aboutToShow.connect(lambda: self.fill_error_menu(self.error_menu))

    def dialog(self) -> list[str] | None:
        doc = self.document()
        if doc is None:
            self.status("Open an image first (Ctrl+O)")
            return None
        ticked = {m.model for m in doc.results()} | {self.current_model() or ""}
        dialog = CompareModelsDialog(self.parent, self.models.entries(self.scale()), ticked=ticked,
                                     scale=self.scale(), start_dir=str(self.settings.value("files/model_dir", "")))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        chosen = dialog.chosen()
        for path in chosen:
            if path not in {e.path for e in self.models.entries(self.scale())}:
                self.models.add(path, Path(path).name)  # remembered with the other opened models
        self.start(chosen)
        return chosen

    def start(self, chosen: list[str]) -> None:
        """Run every chosen model on the image, one after the other."""
        order = run_order(chosen, self.current_model())
        if not order:
            self.status("No model ticked: nothing to compare")
        for path in order:
            self.run(path)

    def clear(self) -> None:
        doc = self.document()
        if doc is not None and doc.compared:
            doc.forget_compared()
            self.refresh()
            self.status("Only the current result is shown now")

    def fill_error_menu(self, menu: QMenu) -> None:
        """View > Difference Map: against the truth, every result of the image (the ticked one's
        |result − HR| is mapped); against the current result, every other one (|current − other|,
        with or without a truth: e.g. the whole image against tiles)."""
        menu.clear()
        doc = self.document()
        truth = doc.results() if doc is not None and doc.comparison.hr is not None else []
        others = list(doc.compared.values()) if doc is not None and doc.has_result else []
        group = QActionGroup(menu)
        if truth:
            menu.addSection("Against the truth (HR)")
        for made in truth:
            action = menu.addAction(f"|{made.title()} − HR|")
            action.setCheckable(True)
            current = made is doc.made
            action.setChecked(doc.diff_between is None and
                              (doc.diff_of == made.key if doc.diff_of is not None else current))
            action.triggered.connect(lambda _=False, m=None if current else made.key: self.map_errors_of(m))
            group.addAction(action)
        if others:
            menu.addSection(f"Against {doc.made.title()}")
        for other in others:
            action = menu.addAction(f"|{doc.made.title()} − {other.made.title()}|")
            action.setCheckable(True)
            action.setChecked(doc.diff_between == other.made.key)
            action.triggered.connect(lambda _=False, m=other.made.key: self.map_difference_from(m))
            group.addAction(action)
        if not truth and not others:
            menu.addAction("(after an upscale: in Simulate mode, or with two results)").setEnabled(False)

    def map_errors_of(self, model: str | None) -> None:
        """Map |that result − HR| (None: the current result's)."""
        doc = self.document()
        if doc is not None:
            doc.diff_of, doc.diff_between = model, None
            self.refresh()

    def map_difference_from(self, model: str) -> None:
        """Map |current result − that compared result|: what changes between two results."""
        doc = self.document()
        if doc is not None and model in doc.compared:
            doc.diff_between = model
            self.refresh()
            self.status(f"The difference panel maps |{doc.made.title()} − {doc.compared[model].made.title()}|")
