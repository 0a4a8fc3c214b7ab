"""File > Export Figure…: the region shown now, cropped from every visible panel, side by side with
the names and scores, the whole image with the region marked first (a PNG, as papers show it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.eval.figure import Region, auto_magnify
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.panels import document_panels, short_title
from nlsn_gui.tasks.figure import export_figure


class FigureExport:
    def __init__(self, window) -> None:
        self.window = window

    def install(self, *, file_menu, after) -> None:
        from nlsn_gui.qt.menus import insert_after, make_action

        self.action = make_action(self.window, "Export &Figure…", self.dialog, "Ctrl+Shift+E",
                                  tip="The region in view, cropped from every panel shown, side by side with "
                                      "names and scores (PNG)")
        insert_after(file_menu, after, self.action)

    def region(self) -> Region:
        """The output pixels in view now, those whose centre shows (the whole image when fitted)."""
        (x0, x1), (y0, y1) = self.window.compare.view_range()
        x0, y0 = max(0, round(x0)), max(0, round(y0))
        return Region(x0, y0, max(1, round(x1) - x0), max(1, round(y1) - y0))

    def dialog(self) -> None:
        doc = self.window.doc
        if doc is None:
            self.window._set_status("Open an image first (Ctrl+O)")
            return
        folder = doc.path.parent if doc.path is not None else \
            Path(str(self.window.settings.value("files/save_dir", str(Path.home()))))
        start = folder / f"{doc.stem}_figure.png"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export figure", str(start), "PNG image (*.png)")
        if path:
            self.export(Path(path) if path.lower().endswith(".png") else Path(path + ".png"))

    def export(self, path: Path) -> None:
        doc, compare = self.window.doc, self.window.compare
        shown = set(compare.visible_keys())
        panels = [p for p in document_panels(doc) if p.key in shown]
        if not panels:
            self.window._set_status("No panel is shown: tick one to put it in the figure")
            return
        region = self.region()
        truth = next((p for p in panels if p.key == "hr"), None) or panels[-1]
        overview = (doc.stem, truth.pixels, truth.scale)
        # Scores under each crop (the sizes of LR and HR are not the figure's).
        rows = [(short_title(compare.panel_title(p.key) or p.title), p.pixels,
                 p.subtitle if "PSNR" in p.subtitle else "", p.scale) for p in panels]
        self.window.submit(
            Job("save", f"Exporting the figure {path.name}", lane="files",
                done=lambda p: self.window._set_status(f"Figure of {len(rows)} panels saved to {p}")),
            export_figure(rows, (region.x, region.y, region.w, region.h), path,
                          magnify=auto_magnify(region), overview=overview))
