"""Opening images in the main window: the dialog, Open Recent, the sample, pasting, dropping, and
preparing the opened image again when the mode or the scale changes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog

from core.checkpoints import MODEL_SUFFIXES
from core.image import SUPPORTED_READ, Image
from nlsn_gui.qt.clipboard import mime_contents
from nlsn_gui.qt.toolbar import select
from nlsn_gui.state.jobs import Job
from nlsn_gui.tasks import images
from resources import SAMPLES_DIR


def image_filter() -> str:
    return f"Images ({' '.join(f'*{ext}' for ext in SUPPORTED_READ)});;All files (*)"


class Opening:
    """The main window's opening of images (a part of :class:`~nlsn_gui.qt.main_window.MainWindow`)."""

    def open_dialog(self) -> None:
        start = str(self.settings.value("files/open_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", start, image_filter())
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> None:
        if path.is_dir():
            self.batch_dialog(folder=path)
        elif path.suffix.lower() in MODEL_SUFFIXES:
            self.open_model(path)
        else:
            self.settings.setValue("files/open_dir", str(path.parent))
            self._open(f"Opening {path.name}", images.open_image(path, mode=self.mode, scale=self.scale))

    def open_recent(self, path: Path) -> None:
        if not path.exists():  # moved or deleted since: say where it was, and forget it
            self.recent.remove(path)
            self._update_recent_menu()
            self._show_error(f"{path}: the file is no longer there (removed from Open Recent)")
            return
        self.open_path(path)

    def open_sample(self) -> None:
        sample = SAMPLES_DIR / "sample.png"
        if not sample.is_file():
            self._show_error(f"the sample image is missing ({sample})")
            return
        select(self.mode_box, "upscale")  # the sample is a low-resolution image: nothing to simulate from
        self._open("Opening the sample image", images.open_image(sample, mode="upscale", scale=self.scale,
                                                                  remember=False))

    def paste(self) -> None:
        clipboard = QApplication.clipboard()
        path, image = mime_contents(clipboard.mimeData(), image=clipboard.image(), text_paths=True)
        self._open_either(path, image, "pasted image") or self._set_status("The clipboard holds no image")

    def _open_either(self, path: Path | None, image: Image | None, name: str) -> bool:
        if path is not None:
            self.open_path(path)
        elif image is not None:
            self.open_image(image, name=name)
        return path is not None or image is not None

    def open_image(self, image: Image, *, name: str) -> None:
        """Open pixels that did not come from a file (clipboard, drops, tests)."""
        self._open(f"Opening {name}", images.prepare_image(image, name=name, mode=self.mode, scale=self.scale))

    def _open(self, text: str, fn) -> None:
        self.submit(Job("open", text, done=self._show_document, lane="files"), fn)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._open_either(*mime_contents(event.mimeData()), "dropped image"):
            event.acceptProposedAction()

