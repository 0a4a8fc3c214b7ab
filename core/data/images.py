"""Training images: HR folders (LR made with MATLAB bicubic) or paired HR/LR folders, read once.

Decoding and resizing happen once per image: the pair is cached on disk as ``.npy`` files
(memory-mapped when read back, so a large dataset does not need to fit in RAM), and every epoch
afterwards only crops.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from core.base.errors import DataError, NLSNError
from core.base.fileio import atomic_write, os_error_reason
from core.image import IMAGE_EXTENSIONS, as_rgb_uint8, load_image
from core.image.resize import downscale, modcrop

CACHE_VERSION = 1
Warn = Callable[[str], None]


@dataclass(frozen=True)
class TrainImage:
    name: str
    hr: np.ndarray  # (sH, sW, 3) uint8, cropped to a multiple of the scale
    lr: np.ndarray  # (H, W, 3) uint8


def _image_files(folder: Path) -> list[Path]:
    """Every image under ``folder`` (recursive), sorted so the order is the same on every machine."""
    if not folder.exists():
        raise DataError(f"training folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    try:
        files = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    except OSError as err:
        raise DataError(f"cannot list {folder} ({os_error_reason(err)})") from None
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _pair_key(path: Path, scale: int) -> str:
    """Stem with the usual HR/LR markers removed: ``0001x2`` / ``img_SRF_2_LR`` / ``a_HR`` -> ``0001`` / ``img`` / ``a``."""
    stem = path.stem
    for suffix in (f"_SRF_{scale}_LR", f"_SRF_{scale}_HR", "_LR", "_HR", f"x{scale}", f"_x{scale}"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def _cache_name(path: Path, lr_path: Path | None, scale: int) -> str:
    parts = [str(CACHE_VERSION), str(scale)]
    for p in (path, lr_path):
        if p is not None:
            st = p.stat()
            parts += [str(p.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _read_cached(cache_dir: Path, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    hr_file, lr_file = cache_dir / f"{key}.hr.npy", cache_dir / f"{key}.lr.npy"
    if not (hr_file.is_file() and lr_file.is_file()):
        return None
    try:
        hr = np.load(hr_file, mmap_mode="r", allow_pickle=False)
        lr = np.load(lr_file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None  # damaged cache entry: rebuilt below
    if hr.dtype != np.uint8 or lr.dtype != np.uint8 or hr.ndim != 3 or lr.ndim != 3:
        return None
    return hr, lr


def _write_cache(cache_dir: Path, key: str, hr: np.ndarray, lr: np.ndarray, warn: Warn) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(cache_dir / f"{key}.hr.npy", _npy_bytes(hr))
        atomic_write(cache_dir / f"{key}.lr.npy", _npy_bytes(lr))
    except OSError as err:
        warn(f"cannot write the data cache in {cache_dir} ({os_error_reason(err)}); continuing without it")


def _make_pair(hr_path: Path, lr_path: Path | None, scale: int) -> tuple[np.ndarray, np.ndarray]:
    hr = as_rgb_uint8(load_image(hr_path))
    if lr_path is None:
        hr = modcrop(hr, scale)
        return np.ascontiguousarray(hr), downscale(hr, scale)
    lr = as_rgb_uint8(load_image(lr_path))
    h, w = lr.shape[:2]
    if hr.shape[0] < h * scale or hr.shape[1] < w * scale:
        raise DataError(
            f"{hr_path.name} is {hr.shape[1]}x{hr.shape[0]} but its LR {lr_path.name} is {w}x{h}: "
            f"at x{scale} the HR image must be at least {w * scale}x{h * scale}"
        )
    return np.ascontiguousarray(hr[: h * scale, : w * scale]), lr


def _pairs(hr_dirs: list[Path], lr_dirs: list[Path] | None, scale: int, warn: Warn) -> list[tuple[Path, Path | None, str]]:
    if lr_dirs is not None and len(lr_dirs) != len(hr_dirs):
        raise DataError(f"{len(hr_dirs)} HR folders but {len(lr_dirs)} LR folders: give one LR folder per HR folder")
    pairs: list[tuple[Path, Path | None, str]] = []
    for i, folder in enumerate(hr_dirs):
        files = _image_files(folder)
        if lr_dirs is None:
            pairs += [(f, None, f"{folder.name}/{f.relative_to(folder).as_posix()}") for f in files]
            continue
        lr_by_key = {}
        for f in _image_files(lr_dirs[i]):
            lr_by_key.setdefault((f.parent.relative_to(lr_dirs[i]).as_posix(), _pair_key(f, scale)), f)
        for f in files:
            lr = lr_by_key.get((f.parent.relative_to(folder).as_posix(), _pair_key(f, scale)))
            if lr is None:
                warn(f"skipped {f.name}: no LR image for it in {lr_dirs[i]}")
                continue
            pairs.append((f, lr, f"{folder.name}/{f.relative_to(folder).as_posix()}"))
    return pairs


def _load_pair(hr_path: Path, lr_path: Path | None, name: str, *, scale: int, min_lr_size: int,
               cache_dir: Path | None, warn: Warn) -> TrainImage | None:
    """One HR/LR pair, from the cache or prepared (and cached); None, with a warning, if unusable."""
    try:
        key = _cache_name(hr_path, lr_path, scale) if cache_dir is not None else None
        cached = _read_cached(cache_dir, key) if key is not None else None
        if cached is None:
            hr, lr = _make_pair(hr_path, lr_path, scale)
            if key is not None:
                _write_cache(cache_dir, key, hr, lr, warn)
        else:
            hr, lr = cached
    except (NLSNError, ValueError) as err:
        warn(f"skipped {name}: {err}")
        return None
    except OSError as err:
        warn(f"skipped {name}: {os_error_reason(err)}")
        return None
    if min(lr.shape[:2]) < min_lr_size:
        warn(f"skipped {name}: its LR image ({lr.shape[1]}x{lr.shape[0]}) is smaller than a {min_lr_size}px patch")
        return None
    return TrainImage(name, hr, lr)


def load_training_images(
    hr_dirs: Iterable[Path],
    *,
    scale: int,
    lr_dirs: Iterable[Path] | None = None,
    min_lr_size: int = 0,
    cache_dir: Path | None = None,
    warn: Warn | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[TrainImage]:
    """Every usable HR/LR pair under the folders; unreadable or too small images are skipped with a warning.

    ``progress(done, total)`` is called before the first image and after each one (read from the
    cache or prepared); an exception it raises stops the preparation (what is cached stays).
    """
    warn = warn or (lambda text: None)
    hr_dirs = [Path(d) for d in hr_dirs]
    lr_dirs = [Path(d) for d in lr_dirs] if lr_dirs is not None else None
    if not hr_dirs:
        raise DataError("no training folder given")
    pairs = _pairs(hr_dirs, lr_dirs, scale, warn)
    report = progress or (lambda done, total: None)
    report(0, len(pairs))
    images: list[TrainImage] = []
    for done, (hr_path, lr_path, name) in enumerate(pairs, start=1):
        image = _load_pair(hr_path, lr_path, name, scale=scale, min_lr_size=min_lr_size, cache_dir=cache_dir, warn=warn)
        if image is not None:
            images.append(image)
        report(done, len(pairs))
    if not images:
        where = ", ".join(str(d) for d in hr_dirs)
        raise DataError(f"no usable training image in {where}")
    return images
