"""The window's two pages, Compare and Training, as tabs: training never takes the viewer's room.

The inspector dock belongs to the comparison: it steps aside on the Training page and comes back
with Compare. While a run trains, a small button in the status bar says how far it is, on every
page, and brings the Training page up.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QSizePolicy, QTabWidget, QToolButton, QWidget


class Pages(QTabWidget):
    def __init__(self, compare: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.compare = compare
        self.addTab(compare, "Compare")
        self._docks: list[QDockWidget] = []
        self._hidden: set[QDockWidget] = set()  # docks the Training page put aside
        self.currentChanged.connect(self._changed)

    def add_page(self, widget: QWidget, title: str) -> None:
        """A page whose width is not the window's minimum: a tab widget is as wide as its widest
        page, which would take the room of the Compare page's docks (and widen a small window)."""
        widget.setSizePolicy(QSizePolicy.Ignored, widget.sizePolicy().verticalPolicy())
        self.addTab(widget, title)

    def current(self) -> QWidget:
        """The page in view."""
        return self.currentWidget()

    def belongs_to_compare(self, dock: QDockWidget) -> None:
        """``dock`` shows only with the Compare page."""
        self._docks.append(dock)

    def show_page(self, widget: QWidget) -> None:
        self.setCurrentWidget(widget)

    def toggle(self, widget: QWidget) -> None:
        """Bring ``widget``'s page up, or go back to Compare when it is up already."""
        self.show_page(self.compare if self.current() is widget else widget)

    def _changed(self, _index: int) -> None:
        on_compare = self.currentWidget() is self.compare
        for dock in self._docks:
            if not on_compare and dock.isVisible() and not dock.isFloating():
                self._hidden.add(dock)
                dock.hide()
            elif on_compare and dock in self._hidden:
                self._hidden.discard(dock)
                dock.show()


class TrainingBadge(QToolButton):
    """The status bar's line about the training run: click it to see the run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.setToolTip("The training run: click to show the Training page (Ctrl+T)")
        self.hide()

    def set_summary(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))
