"""The one way a panel joins the main window: a dock, remembered by the window's saved layout
(restored by :func:`restore_layout`)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QScrollArea, QWidget


def dock_panel(window: QMainWindow, widget: QWidget, *, title: str, name: str, area: Qt.DockWidgetArea,
               action_text: str, shortcut: str, tip: str, saved_state: QByteArray | None,
               first_size: float, scroll: bool = False) -> tuple[QDockWidget, QAction]:
    """Dock ``widget`` in ``area`` (hidden until its action shows it), and return (dock, toggle action).

    The window restored its layout before the dock existed, so the dock's part of ``saved_state`` is
    restored now when that layout knows the dock (``name``); otherwise the dock starts hidden and,
    when first shown, takes ``first_size`` of the window's width (left/right) or height (bottom).
    """
    dock = QDockWidget(title, window)
    dock.setObjectName(name)  # saveState / restoreState remember it by this name
    dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
    if scroll:
        area_widget = QScrollArea()
        area_widget.setWidget(widget)
        area_widget.setWidgetResizable(True)
        area_widget.setFrameShape(QScrollArea.NoFrame)
        area_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        dock.setWidget(area_widget)
    else:
        dock.setWidget(widget)
    window.addDockWidget(area, dock)
    known = isinstance(saved_state, QByteArray) and name.encode("utf-16-be") in bytes(saved_state)
    restored = known and window.restoreDockWidget(dock)
    if not restored:
        dock.hide()
    vertical = area in (Qt.TopDockWidgetArea, Qt.BottomDockWidgetArea)
    sized = {"done": restored}

    def shown(visible: bool) -> None:
        if visible and not sized["done"]:
            sized["done"] = True
            extent = window.height() if vertical else window.width()
            least = widget.minimumSizeHint()  # a narrow window still shows the panel whole
            size = max(int(extent * first_size), (least.height() if vertical else least.width()) + 24)
            QTimer.singleShot(0, lambda: window.resizeDocks(
                [dock], [size], Qt.Vertical if vertical else Qt.Horizontal))

    dock.visibilityChanged.connect(shown)
    action = dock.toggleViewAction()
    action.setText(action_text)
    action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.triggered.connect(lambda checked: dock.raise_() if checked else None)
    window.addAction(action)
    return dock, action


def restore_layout(window: QMainWindow, settings) -> None:
    """The window's saved geometry and dock layout; a first launch takes 90 % of the screen."""
    geometry = settings.value("window/geometry")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    else:
        screen = QApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        if area is not None and area.width() > 0:
            window.resize(int(area.width() * 0.9), int(area.height() * 0.9))
        else:
            window.resize(1440, 860)
    if isinstance(settings.value("window/state"), QByteArray):
        window.restoreState(settings.value("window/state"))
