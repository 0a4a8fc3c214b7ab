"""The batch dialog's job: every image of a folder with the window's model, scale, device and seed."""

from __future__ import annotations

from pathlib import Path

from core.inference.batch import BatchItem, batch_upscale, folder_images, made_with


def batch_job(folder: Path, out_dir: Path, *, model: str, scale: int, device: str, seed: int,
              extension: str | None, skip_existing: bool):
    def run(ctx) -> list[BatchItem]:
        sources = folder_images(folder)
        _, upscaler = ctx.models.upscaler(model, scale=scale, device=device)

        def one(image, *, progress, cancel):
            return upscaler.upscale_image(image, seed=seed, progress=progress, cancel=cancel)

        def progress(index, total, fraction, name, _detail):
            ctx.progress((index + fraction) / max(total, 1), f"{min(index + 1, total)}/{total} {name}")

        return batch_upscale(sources, out_dir, upscale_fn=one, scale=scale, extension=extension,
                             skip_existing=skip_existing, made=made_with(model, seed=seed, scale=scale),
                             progress=progress, cancel=ctx.cancelled)

    return run
