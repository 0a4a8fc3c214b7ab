"""The query's numbers: its bucket, bucket size, attended keys, round weight, entropy, non-local
share, and a table of every round (select a row to show that round)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.inspection import DEFAULT_LOCAL_RADIUS
from nlsn_gui.tasks.inspect import QueryView

SIDE = 2 * DEFAULT_LOCAL_RADIUS + 1
CELLS = (
    ("bucket", "Bucket", "The query's bucket in this round (its id, 0..m-1)"),
    ("size", "Bucket size", "Pixels hashed into the query's bucket in this round"),
    ("attended", "Attended", "Distinct pixels among the query's keys in this round: its own chunk and the two "
                             "adjacent ones"),
    ("prob", "Round weight", "p_r: weight of this round when the rounds are combined (softmax of their log-sum-exp)"),
    ("entropy", "Entropy", "Entropy of the combined attention in nats: about the log of the number of pixels it "
                           "spreads over"),
    ("nonlocal", "Non-local", f"Share of the combined weight outside the {SIDE}×{SIDE} window around the query "
                              "(dashed square)"),
)


class QueryNumbers(QWidget):
    roundSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        for i, (key, text, tip) in enumerate(CELLS):
            name, value = QLabel(text), QLabel("–")
            for label in (name, value):
                label.setToolTip(tip)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            bold = value.font()
            bold.setBold(True)
            value.setFont(bold)
            row, col = divmod(i, 2)
            grid.addWidget(name, row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
            self.values[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        layout.addLayout(grid)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Round", "Bucket", "Size", "p_r", "Top w"])
        self.table.horizontalHeaderItem(4).setToolTip("Largest weight of one key in the round")
        self.table.horizontalHeaderItem(3).setToolTip("Weight of the round in the combination")
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Per hash round; select a row to show that round")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.table)

    def show_query(self, qv: QueryView, round_: int) -> None:
        row = qv.rows[round_]
        for key, text in (("bucket", str(row.bucket)), ("size", f"{row.size:,}"), ("attended", f"{row.attended:,}"),
                          ("prob", f"{row.prob:.3f}"), ("entropy", f"{qv.q.entropy:.2f} nats"),
                          ("nonlocal", f"{qv.q.nonlocal_share:.0%}")):
            self.values[key].setText(text)
        self.table.blockSignals(True)
        self.table.setRowCount(len(qv.rows))
        for i, rr in enumerate(qv.rows):
            texts = (str(rr.round + 1), str(rr.bucket), f"{rr.size:,}", f"{rr.prob:.3f}", f"{rr.top_weight:.3g}")
            for j, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, item)
        self.table.selectRow(round_)
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        self.table.setFixedHeight(height)

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.roundSelected.emit(rows[0].row())
