"""The attention inspector panel."""

from nlsn_gui.qt.inspector.panel import InspectorPanel

__all__ = ["InspectorPanel"]
