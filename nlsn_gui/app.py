"""Entry point of ``nlsn-gui``: the application, its settings and the main window."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nlsn-gui", description="NLSN Studio: image super-resolution with NLSN")
    parser.add_argument("image", nargs="?", help="image (or model file, or folder to batch) to open")
    parser.add_argument("--reset-settings", action="store_true", help="forget window layout, recent files and choices")
    parser.add_argument("--self-test", metavar="OUT.png",
                        help="open the sample image, upscale it with the bundled model, save it to OUT.png and quit "
                             "(exit code 0 on success; checks an installation or a bundle)")
    return parser.parse_args(argv)


def self_test(window, out: Path) -> None:
    """Drive the real window through open -> upscale -> save, then quit with 0 or 1."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    app.setProperty("nlsn_quiet", True)
    stage = {"name": "open"}

    def idle() -> bool:
        return not window.worker.busy and window.jobs.idle

    def finish(code: int, text: str) -> None:
        print(f"self-test: {text}", file=sys.stderr if code else sys.stdout)
        timer.stop()
        window.close()
        app.exit(code)

    def step() -> None:
        if not idle():
            return
        status = window.status_label.text()
        if status.startswith("Error:"):
            finish(1, status)
        elif stage["name"] == "open" and window.doc is not None:
            stage["name"] = "upscale"
            window.upscale()
        elif stage["name"] == "upscale" and window.doc.comparison.sr is not None:
            stage["name"] = "save"
            window.save(out)
        elif stage["name"] == "save" and out.is_file():
            finish(0, f"{window.doc.name} upscaled with {window.model_box.currentText()} -> {out} ({status})")

    timer = QTimer(window)
    timer.timeout.connect(step)
    timer.start(50)
    QTimer.singleShot(600_000, lambda: finish(1, "timed out"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from nlsn_gui.qt.main_window import MainWindow
    from nlsn_gui.qt.theme import apply_theme

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("NLSN")
    app.setApplicationName("NLSN Studio")
    app.setApplicationDisplayName("NLSN Studio")
    if args.self_test:  # a throwaway profile: a check must not touch the user's settings
        import tempfile

        settings = QSettings(str(Path(tempfile.mkdtemp()) / "self-test.ini"), QSettings.IniFormat)
    else:
        settings = QSettings()
    if args.reset_settings:
        settings.clear()
    apply_theme(app, str(settings.value("view/theme", "system")))
    window = MainWindow(settings=settings)
    window.show()
    window.start(Path(args.image) if args.image else None)
    if args.self_test:
        self_test(window, Path(args.self_test).resolve())
    return app.exec()
