"""Finding high-/low-resolution image pairs in a benchmark folder.

Three layouts are understood, tried in this order:

(a) SelfExSR (Huang et al.), e.g. ``Set5/``::

        root/image_SRF_2/img_001_SRF_2_HR.png
        root/image_SRF_2/img_001_SRF_2_LR.png
        root/image_SRF_3/...

    Recognised by at least one ``image_SRF_<n>`` sub-folder. Pair names drop the
    ``_SRF_<s>_HR`` suffix (``img_001``).

(b) EDSR "released benchmark"::

        root/HR/baby.png
        root/LR_bicubic/X2/babyx2.png

    Recognised by an ``HR`` sub-folder. Without any ``LR_bicubic`` folder the LR images are
    made on the fly (``lr=None``).

(c) Any other folder: its image files (not recursive) are HR images; LR is made on the fly.

In (a) and (b) an HR image whose LR counterpart is missing gets ``lr=None`` as well, so it is
still evaluated, on an LR image computed with :func:`core.image.resize.downscale`.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import DataError
from core.image import IMAGE_EXTENSIONS  # compared lower-case, so ``.PNG`` and ``.Jpg`` count too

__all__ = ["EvalPair", "find_pairs"]

_SELFEXSR_DIR = re.compile(r"^image_SRF_(\d+)$")


@dataclass(frozen=True)
class EvalPair:
    """One evaluation image: its name, HR file and LR file (``None``: make LR from HR)."""

    name: str
    hr: Path
    lr: Path | None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _is_image(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def _images_in(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by file name."""
    return sorted((p for p in folder.iterdir() if _is_image(p)), key=lambda p: p.name)


def _index_by_stem(files: list[Path]) -> dict[str, Path]:
    """Map file stem -> path (the first one by name if two files share a stem)."""
    index: dict[str, Path] = {}
    for path in files:
        index.setdefault(path.stem, path)
    return index


def _check_unique(pairs: list[EvalPair], folder: Path) -> list[EvalPair]:
    """Sort by name; two images with the same name (``a.png``, ``a.jpg``) are ambiguous."""
    pairs = sorted(pairs, key=lambda pair: pair.name)
    for first, second in zip(pairs, pairs[1:]):
        if first.name == second.name:
            raise DataError(
                f"two images are named '{first.name}' ({first.hr.name}, {second.hr.name}) in {folder}"
            )
    return pairs


def _require_images(pairs: list[EvalPair], folder: Path) -> list[EvalPair]:
    if not pairs:
        raise DataError(f"no images found in {folder}")
    return pairs


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


def _selfexsr_pairs(root: Path, scale: int) -> list[EvalPair]:
    """Layout (a): ``root/image_SRF_{s}/<name>_SRF_{s}_HR.png`` + ``..._LR.png``."""
    folder = root / f"image_SRF_{scale}"
    if not folder.is_dir():
        raise DataError(f"no x{scale} images (folder image_SRF_{scale} missing) in {root}")
    files = _images_in(folder)
    lr_by_stem = _index_by_stem(files)
    hr_pattern = re.compile(rf"^(?P<name>.+)_SRF_{scale}_HR$")
    pairs = []
    for path in files:
        match = hr_pattern.match(path.stem)
        if match is None:
            continue  # an LR image or an unrelated file
        name = match.group("name")
        pairs.append(EvalPair(name=name, hr=path, lr=lr_by_stem.get(f"{name}_SRF_{scale}_LR")))
    return _check_unique(_require_images(pairs, folder), folder)


def _edsr_pairs(root: Path, scale: int) -> list[EvalPair]:
    """Layout (b): ``root/HR/<name>.png`` + ``root/LR_bicubic/X{s}/<name>x{s}.png``."""
    hr_folder = root / "HR"
    lr_root = root / "LR_bicubic"
    lr_by_stem: dict[str, Path] = {}
    if lr_root.is_dir():
        lr_folder = lr_root / f"X{scale}"
        if not lr_folder.is_dir():
            raise DataError(f"no x{scale} images (folder X{scale} missing) in {lr_root}")
        lr_by_stem = _index_by_stem(_images_in(lr_folder))
    pairs = [
        EvalPair(name=path.stem, hr=path, lr=lr_by_stem.get(f"{path.stem}x{scale}"))
        for path in _images_in(hr_folder)
    ]
    return _check_unique(_require_images(pairs, hr_folder), hr_folder)


def _plain_pairs(root: Path) -> list[EvalPair]:
    """Layout (c): every image in ``root`` is an HR image; LR is made on the fly."""
    pairs = [EvalPair(name=path.stem, hr=path, lr=None) for path in _images_in(root)]
    return _check_unique(_require_images(pairs, root), root)


def find_pairs(root: Path, scale: int) -> list[EvalPair]:
    """HR/LR pairs of the benchmark folder ``root`` for upscaling factor ``scale``, by name.

    Raises :class:`DataError` (one line, naming the path) when the folder is missing, holds no
    images, or is a SelfExSR / EDSR layout without the requested scale.
    """
    if isinstance(scale, bool) or not isinstance(scale, numbers.Integral) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    root = Path(root)
    if not root.exists():
        raise DataError(f"folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"not a folder: {root}")

    try:
        subfolders = [p for p in root.iterdir() if p.is_dir()]
        if any(_SELFEXSR_DIR.match(p.name) for p in subfolders):
            return _selfexsr_pairs(root, scale)
        if (root / "HR").is_dir():
            return _edsr_pairs(root, scale)
        return _plain_pairs(root)
    except OSError as err:  # unreadable folder, permission denied...
        raise DataError(f"cannot read {root}: {err.strerror or err}") from err
