"""Light and dark palettes on the Fusion style; "system" follows the desktop's colour scheme."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = {"system": "Follow the System", "light": "Light", "dark": "Dark"}


def system_is_dark(app: QApplication) -> bool:
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() != Qt.ColorScheme.Unknown:
        return scheme() == Qt.ColorScheme.Dark
    # No colour-scheme hint: judge by the default window colour.
    return app.style().standardPalette().color(QPalette.Window).lightness() < 128


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(37, 39, 43), QColor(27, 29, 32), QColor(225, 228, 232)
    accent = QColor(64, 156, 255)
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, window)
        p.setColor(group, QPalette.WindowText, text)
        p.setColor(group, QPalette.Base, base)
        p.setColor(group, QPalette.AlternateBase, window.lighter(110))
        p.setColor(group, QPalette.ToolTipBase, base)
        p.setColor(group, QPalette.ToolTipText, text)
        p.setColor(group, QPalette.Text, text)
        p.setColor(group, QPalette.Button, QColor(48, 51, 56))
        p.setColor(group, QPalette.ButtonText, text)
        p.setColor(group, QPalette.BrightText, QColor(255, 90, 90))
        p.setColor(group, QPalette.Highlight, accent)
        p.setColor(group, QPalette.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.Link, accent)
        p.setColor(group, QPalette.PlaceholderText, QColor(140, 144, 150))
    disabled = QColor(120, 123, 128)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, disabled)
    p.setColor(QPalette.Disabled, QPalette.Window, window)
    p.setColor(QPalette.Disabled, QPalette.Base, base)
    p.setColor(QPalette.Disabled, QPalette.Button, QColor(44, 46, 50))
    return p


def apply_theme(app: QApplication, key: str = "system") -> bool:
    """Apply a theme; returns whether the result is dark."""
    app.setStyle("Fusion")
    dark = system_is_dark(app) if key == "system" else key == "dark"
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    import pyqtgraph as pg

    pg.setConfigOptions(background=app.palette().color(QPalette.Base), foreground=app.palette().color(QPalette.Text))
    return dark
