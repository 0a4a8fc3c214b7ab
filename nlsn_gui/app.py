"""Entry point of ``nlsn-gui``: the application, its settings and the main window."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nlsn-gui", description="NLSN Studio: image super-resolution with NLSN")
    parser.add_argument("image", nargs="?", help="image (or model file, or folder to batch) to open")
    parser.add_argument("--reset-settings", action="store_true", help="forget window layout, recent files and choices")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from nlsn_gui.main_window import MainWindow
    from nlsn_gui.theme import apply_theme

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("NLSN")
    app.setApplicationName("NLSN Studio")
    app.setApplicationDisplayName("NLSN Studio")
    settings = QSettings()
    if args.reset_settings:
        settings.clear()
    apply_theme(app, str(settings.value("view/theme", "system")))
    window = MainWindow(settings=settings)
    window.show()
    window.start(Path(args.image) if args.image else None)
    return app.exec()
