"""The comparison view: linked panels side by side or as a swipe, with overlays other views draw."""

from nlsn_gui.qt.compare.view import CompareView
from nlsn_gui.state.panels import CursorInfo, Panel, choose_grid

__all__ = ["CompareView", "CursorInfo", "Panel", "choose_grid"]
