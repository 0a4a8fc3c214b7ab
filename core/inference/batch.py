"""Upscaling many files: inputs from files and folders, output names, and the one batch loop that
``nlsn upscale`` and the app's batch dialog both run.

A batch given what makes its results (:func:`made_with`; the app's batch dialog) keeps a small
manifest in its output folder (``.nlsn-batch.json``): which model file, seed and scale made each
image. A re-run that skips finished files then skips only those the same model and seed made; a
file made with another model is made again."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from core.base.errors import Cancelled, NLSNError
from core.base.fileio import atomic_write
from core.image import SUPPORTED_READ, SUPPORTED_WRITE, Image, load_image, save_image
from core.image.animation import ANIMATED_WRITE, Animation, frame_count, load_animation, save_animation


@dataclass
class BatchItem:
    source: Path
    target: Path
    status: str  # "done", "skipped" (already there), "failed"
    message: str = ""
    seconds: float = 0.0
    size: tuple[int, int] = (0, 0)  # (width, height) of the input, once read
    out_size: tuple[int, int] = (0, 0)  # and of the result
    frames: int = 1  # an animation's frames, all upscaled


def folder_images(folder: Path) -> list[Path]:
    """The images of a folder (not recursive), sorted by name."""
    if not folder.is_dir():
        raise NLSNError(f"{folder}: no such folder")
    try:
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_READ)
    except OSError as err:
        raise NLSNError(f"{folder}: cannot be listed ({err.strerror or err})") from None
    if not images:
        raise NLSNError(f"{folder}: folder holds no images ({', '.join(SUPPORTED_READ)})")
    return images


def collect_inputs(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Image files from files and folders (a folder's supported images, sorted, not recursive)."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(folder_images(path))
        elif path.exists():
            found.append(path)
        else:
            raise NLSNError(f"{path}: no such file or folder")
    return found


MANIFEST = ".nlsn-batch.json"
WRITABLE = (*SUPPORTED_WRITE, ".gif")  # GIF as an animation (core.image.animation)


def output_name(source: Path, *, scale: int, extension: str | None = None, tag: str | None = None) -> str:
    """``<stem>_x<s><ext>`` (or ``<stem>_<tag><ext>`` for another size: ``x1.5``, ``1600x1067``): the
    one naming of results (command line, batch dialog, Save As); ``extension`` None keeps the
    source's format when writable, else PNG."""
    ext = extension or (source.suffix.lower() if source.suffix.lower() in WRITABLE else ".png")
    return f"{source.stem}_{tag or f'x{scale}'}{ext.lower()}"


def batch_targets(sources: list[Path], out_dir: Path, *, scale: int, extension: str | None = None) -> list[Path]:
    """``<out>/<stem>_x<s><ext>`` (:func:`output_name`)."""
    if extension is not None and extension.lower() not in WRITABLE:
        raise NLSNError(f"cannot write {extension} files; use one of {', '.join(WRITABLE)}")
    return [out_dir / output_name(src, scale=scale, extension=extension) for src in sources]


def made_with(model: str | os.PathLike, *, seed: int, scale: int, ensemble: bool = False) -> str:
    """What makes a result: the model file (by name, size and time), the seed, the scale, the ensemble."""
    path = Path(model).resolve()
    try:
        stat = path.stat()
        identity = f"{path} ({stat.st_size} bytes, {stat.st_mtime_ns})"
    except OSError:
        identity = str(path)
    return f"{identity} seed {seed} x{scale}" + (" ensemble" if ensemble else "")


def read_manifest(folder: Path) -> dict[str, str]:
    """Output file name -> :func:`made_with` of an output folder ({} when none or unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record(dst: Path, made: str) -> None:
    manifest = read_manifest(dst.parent)
    manifest[dst.name] = made
    try:
        atomic_write(dst.parent / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a read-only manifest only costs a re-run its skipping


def output_paths(inputs: list[Path], output: Path, scale: int, *, tags: list[str] | None = None) -> list[Path]:
    """A single input may go to a file; otherwise OUTPUT is a folder of ``<stem>_x<s><ext>``
    (``tags``: each input's size instead, see :func:`output_name`)."""
    suffix = output.suffix.lower()
    if suffix and not output.is_dir():
        if suffix in WRITABLE:
            if len(inputs) != 1:
                raise NLSNError(f"{output}: names one file, but {len(inputs)} images were given; name a folder")
            return [output]
        if suffix in SUPPORTED_READ:
            raise NLSNError(f"{output}: cannot write {suffix} files; use one of {', '.join(WRITABLE)}")
    if tags is not None:
        return [output / output_name(src, scale=scale, tag=tag) for src, tag in zip(inputs, tags)]
    return batch_targets(inputs, output, scale=scale)


def make_folders(folders: Iterable[Path]) -> None:
    """Create output folders; a clear line when one cannot be made or written."""
    for folder in sorted(set(folders)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise NLSNError(f"{folder}: cannot create the output folder ({err.strerror or err})") from None
        if not os.access(folder, os.W_OK):
            raise NLSNError(f"{folder}: the output folder is not writable")


def run_batch(
    sources: list[Path],
    targets: list[Path],
    *,
    upscale_fn: Callable[..., Image],
    skip_existing: bool = False,
    made: str | None = None,
    quality: int = 95,
    progress: Callable[[int, int, float, str, str], None] | None = None,
    on_item: Callable[[int, BatchItem], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[BatchItem]:
    """Upscale ``sources[i]`` into ``targets[i]``; one bad file is reported, not fatal.

    ``upscale_fn(image, progress=..., cancel=...)`` does one image (e.g. ``Upscaler.upscale_image``
    with the seed bound). ``progress(index, total, fraction_of_this_image, name, detail)``;
    ``on_item(index, item)`` after each file. Files whose target already exists are skipped when
    ``skip_existing`` (a re-run finishes an interrupted batch) and, given ``made`` (:func:`made_with`),
    only when the folder's manifest says the same made them; each file done is recorded there.
    Raises :class:`Cancelled` when
    ``cancel()`` becomes true; finished files stay, and nothing is ever half-written.
    """
    items: list[BatchItem] = []
    total = len(sources)
    for i, (src, dst) in enumerate(zip(sources, targets)):
        if cancel is not None and cancel():
            raise Cancelled()
        if skip_existing and dst.exists() and (made is None or read_manifest(dst.parent).get(dst.name) == made):
            item = BatchItem(src, dst, "skipped", "already done" + (" with this model and seed" if made else ""))
        else:
            if progress is not None:
                progress(i, total, 0.0, src.name, "")
            item = _one(src, dst, upscale_fn=upscale_fn, cancel=cancel, quality=quality,
                        progress=(lambda f, detail, i=i, name=src.name: progress(i, total, f, name, detail))
                        if progress else None)
        if made is not None and item.status == "done":
            _record(dst, made)
        items.append(item)
        if on_item is not None:
            on_item(i, item)
    if progress is not None:
        progress(total, total, 1.0, "", "")
    return items


def upscale_animation(src: Path, dst: Path, *, upscale_fn, progress=None, cancel=None, quality: int = 95
                      ) -> tuple[Image, Image]:
    """Every frame of ``src`` through ``upscale_fn`` into ``dst`` (GIF, WebP or APNG) with the same
    timing; returns the first frame in and out."""
    animation = load_animation(src)
    count = len(animation.frames)
    frames = []
    for index, frame in enumerate(animation.frames):
        def part(fraction: float, detail: str = "", index: int = index) -> None:
            if progress is not None:
                progress((index + fraction) / count, f"frame {index + 1}/{count}" + (f", {detail}" if detail else ""))
        frames.append(upscale_fn(frame, progress=part, cancel=cancel))
    save_animation(dst, Animation(frames, animation.durations, animation.loop), quality=quality)
    return animation.frames[0], frames[0]


def _one(src: Path, dst: Path, *, upscale_fn, progress, cancel, quality: int = 95) -> BatchItem:
    start = time.perf_counter()
    try:
        frames = frame_count(src)
        if dst.suffix.lower() in ANIMATED_WRITE and (dst.suffix.lower() == ".gif" or frames > 1):
            image, result = upscale_animation(src, dst, upscale_fn=upscale_fn, progress=progress, cancel=cancel,
                                              quality=quality)
        else:
            image = load_image(src)
            result = upscale_fn(image, progress=progress, cancel=cancel)
            save_image(dst, result, quality=quality)
    except Cancelled:
        raise
    except NLSNError as err:
        return BatchItem(src, dst, "failed", str(err))
    return BatchItem(src, dst, "done", seconds=time.perf_counter() - start, size=(image.width, image.height),
                     out_size=(result.width, result.height),
                     frames=frames if dst.suffix.lower() in ANIMATED_WRITE else 1)


def batch_upscale(
    sources: list[Path],
    out_dir: Path,
    *,
    upscale_fn: Callable[..., Image],
    scale: int,
    extension: str | None = None,
    skip_existing: bool = True,
    made: str | None = None,
    quality: int = 95,
    progress: Callable[[int, int, float, str, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[BatchItem]:
    """A folder's worth: every source into ``out_dir`` as ``<stem>_x<s><ext>`` (see :func:`run_batch`)."""
    targets = batch_targets(sources, out_dir, scale=scale, extension=extension)
    make_folders([out_dir])
    return run_batch(sources, targets, upscale_fn=upscale_fn, skip_existing=skip_existing, made=made,
                     quality=quality, progress=progress, cancel=cancel)
