"""The batch dialog's job: every image of a folder with the window's model, scale, device, seed and
run options (ensemble, precision, memory or tiles, quality), at the window's output size."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from core.base.errors import NLSNError
from core.image import image_size
from core.inference.batch import BatchItem, batch_targets, folder_images, made_with, make_folders, output_name, run_batch
from core.inference.output_size import OutputSize, fit_to


def batch_job(folder: Path, out_dir: Path, *, model: str, scale: int, device: str, seed: int,
              extension: str | None, skip_existing: bool, ensemble: bool = False, precision: str = "auto",
              memory_budget: int | None = None, tile: int | None = None, quality: int = 95,
              size_for: Callable[[int, int], OutputSize] | None = None):
    def run(ctx) -> list[BatchItem]:
        sources = folder_images(folder)
        _, upscaler = ctx.models.upscaler(model, scale=scale, device=device, precision=precision,
                                          memory_budget=memory_budget, tile=tile)

        def one(image, *, progress, cancel):
            result = upscaler.upscale_image(image, seed=seed, ensemble=ensemble, progress=progress, cancel=cancel)
            return fit_to(result, size_for(image.width, image.height)) if size_for is not None else result

        def progress(index, total, fraction, name, _detail):
            ctx.progress((index + fraction) / max(total, 1), f"{min(index + 1, total)}/{total} {name}")

        if size_for is None:
            targets = batch_targets(sources, out_dir, scale=scale, extension=extension)
        else:  # named by the size each image gets
            targets = [out_dir / output_name(src, scale=scale, extension=extension, tag=_tag(src, size_for))
                       for src in sources]
        make_folders([out_dir])
        made = made_with(model, seed=seed, scale=scale, ensemble=ensemble) + (f" {precision}" if precision != "auto" else "")
        return run_batch(sources, targets, upscale_fn=one, skip_existing=skip_existing, made=made, quality=quality,
                         progress=progress, cancel=ctx.cancelled)

    return run


def _tag(source: Path, size_for: Callable[[int, int], OutputSize]) -> str | None:
    try:
        return size_for(*image_size(source)).tag
    except NLSNError:
        return None  # unreadable: reported when it is upscaled
