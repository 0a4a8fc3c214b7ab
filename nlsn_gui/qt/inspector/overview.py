"""The attention overview: every sparse-attention module x hash round of the inspected forward at
once, as small multiples (like bertviz's model view of layers x heads), with the statistics of
every module and round over all query pixels; the table exports as CSV, the grid as a PNG.

Clicking a map shows that module and round in the inspector. The state is
:class:`~nlsn_gui.state.overview.OverviewState`; the maps and numbers come from
:mod:`nlsn_gui.tasks.overview`.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from core.base.fileio import atomic_write, os_error_reason
from core.inspection.colours import composite
from core.inspection.overview import small_multiples
from nlsn_gui.qt.compare.overlays import Marker, rgba_image_item, set_rgba
from nlsn_gui.qt.host import Host
from nlsn_gui.qt.inspector.export import save_png
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.overview import COLUMNS, TOOLTIPS, OverviewState
from nlsn_gui.tasks.overview import Overview, overview_job

CELL_WIDTH = 200  # px of one small map at first


class OverviewDialog(QDialog):
    cellSelected = Signal(int, int)  # (module, round) clicked
    shown = Signal()  # an overview was drawn; for tests and screenshots

    def __init__(self, parent, host: Host, *, inspected) -> None:
        """``inspected()``: the inspector's :class:`~nlsn_gui.tasks.inspect.Inspected` or None."""
        super().__init__(parent)
        self.host, self._inspected = host, inspected
        self.state = OverviewState()
        self.query: tuple[int, int] | None = None
        self.setWindowTitle("Attention Overview")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        self.mode_box = QComboBox()
        self.mode_box.addItem("Bucket maps", "buckets")
        self.mode_box.addItem("The query's attention", "query")
        self.mode_box.setToolTip("Every pixel's bucket, or where the query pixel's attention goes, per module and round")
        self.mode_box.currentIndexChanged.connect(lambda _i: self.refresh())
        top.addWidget(self.mode_box)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        top.addWidget(self.caption, 1)
        layout.addLayout(top)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.glw.ci.layout.setSpacing(3)
        self.glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.glw.scene().sigMouseClicked.connect(self._on_clicked)
        layout.addWidget(self.glw, 3)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for col, tip in enumerate(TOOLTIPS):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 2)
        buttons = QHBoxLayout()
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("The statistics of every module and round as CSV")
        self.csv_button.clicked.connect(self.export_csv_dialog)
        self.png_button = QPushButton("Save Image…")
        self.png_button.setToolTip("The small multiples as one PNG at the LR's own resolution")
        self.png_button.clicked.connect(self.save_png_dialog)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.csv_button)
        buttons.addWidget(self.png_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self._cells: list[list[tuple[pg.ViewBox, pg.ImageItem, pg.ImageItem, Marker]]] = []
        self._shape: tuple | None = None
        self.resize(1000, 760)
        self._update_buttons()

    # ------------------------------------------------------------------ the inspector's calls

    def set_query(self, query: tuple[int, int] | None) -> None:
        """The inspector's query pixel changed: the query's maps follow it (once one is chosen, they are shown)."""
        first = self.query is None and query is not None
        self.query = query
        if first:
            self.mode_box.setCurrentIndex(self.mode_box.findData("query"))  # refreshes
        elif self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Recompute for the inspector's inspection, mode and query (on the worker), when shown."""
        if not self.isVisible():
            return
        inspected = self._inspected()
        self.state.set_inspection(inspected.inspection if inspected is not None else None)
        self.mode_box.model().item(1).setEnabled(self.query is not None)
        if self.state.inspection is None or not self.state.inspection.modules:
            self.caption.setText("Inspect an NLSN model first: the overview shows its sparse-attention modules")
            self._update_buttons()
            return
        query = self.query if self.mode_box.currentData() == "query" else None
        if self.state.job is not None:
            self.host.cancel(self.state.job)
        if self.state.overview is None:
            self.caption.setText("Computing the overview and the statistics over every pixel…")
        self.state.job = self.host.submit(
            Job("overview", "Attention overview", window=False, done=self._done, failed=self._failed,
                cancelled=self._ended),
            overview_job(self.state.inspection, query=query, stats=self.state.stats(),
                         request=self.state.next_request()))

    def _ended(self) -> None:
        self.state.job = None

    def _failed(self, message: str) -> None:
        self.state.job = None
        self.host.error(message)

    def _done(self, overview: Overview) -> None:
        if self.state.accept(overview):
            self._show(overview)

    # ------------------------------------------------------------------ drawing

    def _build_grid(self, rows: list[str], columns: list[str]) -> None:
        self.glw.clear()
        self._cells = []
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        self.glw.setBackground(pal.color(QPalette.ColorRole.Window))
        for j, title in enumerate(columns):
            self.glw.addLabel(title, row=0, col=j + 1, color=text)
        first = None
        for i, title in enumerate(rows):
            self.glw.addLabel(title.replace(" (", "<br>("), row=i + 1, col=0, color=text)
            cells = []
            for j in range(len(columns)):
                vb = self.glw.addViewBox(row=i + 1, col=j + 1, lockAspect=True, invertY=True, enableMenu=False)
                vb.setBorder(pg.mkPen(pal.color(QPalette.ColorRole.Mid), width=1))
                backdrop, tile = rgba_image_item(), rgba_image_item()
                tile.setZValue(10)
                vb.addItem(backdrop)
                vb.addItem(tile)
                if first is None:
                    first = vb
                else:
                    vb.setXLink(first)
                    vb.setYLink(first)
                marker = Marker(vb)
                marker.hide()
                cells.append((vb, backdrop, tile, marker))
            self._cells.append(cells)
        self._shape = (tuple(rows), tuple(columns))

    def _show(self, ov: Overview) -> None:
        if self._shape != (tuple(ov.row_titles), tuple(ov.column_titles)):
            self._build_grid(ov.row_titles, ov.column_titles)
        inspected = self._inspected()
        backdrop = inspected.backdrop if inspected is not None else None
        h, w = ov.tiles[0][0].shape[:2]
        rect = QRectF(0, 0, w, h)
        for i, row in enumerate(ov.tiles):
            for j, tile in enumerate(row):
                vb, back, item, marker = self._cells[i][j]
                if ov.mode == "query" and backdrop is not None:
                    set_rgba(back, backdrop, rect)
                    back.show()
                    marker.place(ov.query[1], ov.query[0], 1)
                else:
                    back.hide()
                    marker.hide()
                set_rgba(item, tile, rect)
        self._cells[0][0][0].setRange(rect, padding=0)
        self.caption.setText(self.state.caption(inspected.model_name if inspected is not None else ""))
        table = self.state.table()
        self.table.setRowCount(len(table))
        for r, values in enumerate(table):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if values[1] == "all":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        self._update_buttons()
        self.shown.emit()

    def _update_buttons(self) -> None:
        ready = self.state.overview is not None
        self.csv_button.setEnabled(ready)
        self.png_button.setEnabled(ready)

    def _on_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.state.overview is None:
            return
        rounds = self.state.inspection.modules[0].n_hashes
        for i, cells in enumerate(self._cells):
            for j, (vb, *_items) in enumerate(cells):
                if vb.sceneBoundingRect().contains(ev.scenePos()) and j < rounds:
                    self.cellSelected.emit(i, j)
                    return

    # ------------------------------------------------------------------ export

    def _folder(self) -> Path:
        return Path(str(self.host.settings.value("files/save_dir", str(Path.home()))))

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the attention statistics",
                                              str(self._folder() / "attention-overview.csv"), "CSV (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> bool:
        try:
            atomic_write(path, self.state.csv().encode())
        except OSError as err:
            self.host.error(f"could not write {path.name}: {os_error_reason(err)}")
            return False
        self.host.settings.setValue("files/save_dir", str(path.parent))
        self.host.status(f"Exported the statistics of {len(self.state.overview.stats)} modules and rounds to {path}")
        return True

    def save_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the small multiples",
                                              str(self._folder() / f"attention-{self.state.overview.mode}.png"),
                                              "PNG (*.png)")
        if path:
            self.save_png(Path(path))

    def save_png(self, path: Path) -> bool:
        ov, inspected = self.state.overview, self._inspected()
        path = path if path.suffix.lower() == ".png" else path.with_suffix(".png")
        tiles = ov.tiles
        if ov.mode == "query" and inspected is not None:
            tiles = [[composite(inspected.backdrop, t, mark=ov.query) for t in row] for row in tiles]
        return save_png(self.host, path, small_multiples(tiles), done=f"Saved the small multiples to {path}")
