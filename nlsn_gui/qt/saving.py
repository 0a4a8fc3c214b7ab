"""Saving the window's result: the dialog's first name and folder, the output size, the JPEG/WebP
quality, and an animation's every frame. Functions of the window (its document, choices and jobs)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.image import SUPPORTED_WRITE
from nlsn_gui.state.jobs import Job
from nlsn_gui.tasks import images

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF", ".webp": "WebP", ".bmp": "BMP", ".gif": "GIF animation"}


def save_dialog(window) -> None:
    """File > Save Result As…: a name beside the image, as the batch and the command line give it."""
    if window.doc is None or not window.doc.has_result:
        window.host.status("Nothing to save yet: upscale an image first")
        return
    # Beside the image (where its other versions are), else where the last result went.
    folder = window.doc.path.parent if window.doc.path is not None else \
        Path(str(window.settings.value("files/save_dir", str(Path.home()))))
    filters = ";;".join(f"{label} (*{ext})" for ext, label in SAVE_FORMATS.items())
    size = window.output_size()
    name = window.doc.default_save_name(window.scale, tag=size.tag if size is not None else None)
    path, _ = QFileDialog.getSaveFileName(window, "Save result", str(folder / name), filters)
    if path:
        window.save(Path(path))


def save(window, path: Path) -> None:
    """Write the result (at the output size, when one is set); an animation's every frame."""
    if path.suffix.lower() not in (*SUPPORTED_WRITE, ".gif"):
        path = path.with_suffix(".png")
    window.settings.setValue("files/save_dir", str(path.parent))
    if window.doc.frames > 1 and path.suffix.lower() in (".gif", ".webp", ".png"):  # every frame, timing kept
        sel, run = window.selection(), window.run.options
        frames = window.doc.frames
        window.submit(Job("save", f"Upscaling {frames} frames into {path.name}",
                          done=lambda p: window.host.status(f"Saved {p}: {frames} frames")),
                      images.save_animation(window.doc.path, path, scale=sel.scale, model=sel.model, device=sel.device,
                                            seed=sel.seed, ensemble=run.ensemble, precision=run.precision,
                                            quality=run.quality))
        return
    size = window.output_size()
    how = f" ({size.width}×{size.height}: NLSN ×{window.doc.comparison.scale}, then bicubic)" if size else ""
    window.run.last_saved = path
    window.submit(Job("save", f"Saving {path.name}", done=lambda p: window.host.status(f"Saved {p}{how}"),
                      lane="files"),
                  images.save(window.doc.comparison.sr, path, size=size, quality=window.run.options.quality))
