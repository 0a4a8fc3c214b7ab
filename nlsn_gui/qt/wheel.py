"""Wheel guard: in a scrolled panel, the wheel scrolls the panel, not the combo box or spin box
that happens to pass under the pointer; a control takes the wheel only once it has the focus."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QWidget


class WheelGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = obj.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            return False  # not in a scrolled panel: the control keeps its wheel
        QCoreApplication.sendEvent(area.verticalScrollBar(), event)
        return True


def guard_wheel(owner: QObject, *widgets: QWidget) -> None:
    """Guard ``widgets`` (the filter lives as long as ``owner``)."""
    guard = owner.findChild(WheelGuard) or WheelGuard(owner)
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(guard)
