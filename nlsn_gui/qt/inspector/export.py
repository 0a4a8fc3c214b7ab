"""The inspector's Export PNG…: the overlay in view over the LR image, at the LR's own resolution,
the query pixel marked — a figure's panel, not a screenshot of the widgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.base.errors import NLSNError
from core.image import Image, save_image
from core.inspection.colours import composite


def export_name(panel) -> str:
    """``<image>_<overlay>_module<M>_round<R>.png``."""
    doc = panel.host.selection().document
    stem = doc.stem if doc is not None else "inspector"
    return (f"{stem}_{panel.overlay_key()}_module{panel.module_box.currentIndex() + 1}"
            f"_round{panel.round_box.currentIndex() + 1}.png")


def export_dialog(panel) -> None:
    doc = panel.host.selection().document
    folder = doc.path.parent if doc is not None and doc.path is not None else \
        Path(str(panel.host.settings.value("files/save_dir", str(Path.home()))))
    path, _ = QFileDialog.getSaveFileName(panel, "Export the overlay over the LR image",
                                          str(folder / export_name(panel)), "PNG (*.png)")
    if path:
        export_png(panel, Path(path))


def export_png(panel, path: Path) -> bool:
    path = Path(path) if Path(path).suffix.lower() == ".png" else Path(path).with_suffix(".png")
    doc = panel.host.selection().document
    if doc is None or panel.state.view is None:
        panel.host.status("Nothing to export yet: inspect an image first")
        return False
    pixels = composite(doc.displays["lr"], panel.overlay_rgba(), opacity=panel.opacity_slider.value() / 100,
                       mark=panel.state.query)
    return save_png(panel.host, path, pixels,
                    done=f"Exported {path} ({pixels.shape[1]}×{pixels.shape[0]}, the LR image's own size)")


def save_png(host, path: Path, pixels, *, done: str) -> bool:
    """Write (H, W, 3) uint8 ``pixels`` to ``path`` (a .png), remember its folder, say ``done``;
    a failure is reported, never raised."""
    path = Path(path) if Path(path).suffix.lower() == ".png" else Path(path).with_suffix(".png")
    try:
        save_image(path, Image(pixels))
    except (NLSNError, ValueError) as err:
        host.error(f"could not save {path.name}: {err}")
        return False
    host.settings.setValue("files/save_dir", str(path.parent))
    host.status(done)
    return True
