"""The inspector's attribution job: the LAM of one output box for one or two models, and its colours.

Every number comes from :mod:`core.inspection.attribution`, every colour from
:mod:`core.inspection.colours`; the panel only places them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.image import Image, image_tensor
from core.inspection.attribution import Attribution, Box, local_attribution
from core.inspection.colours import heatmap_rgba, log_colour_bar

# The maps on a log scale: three decades below the maximum show how far the dependence reaches.
LAM_SCALE = {"scale": "log", "decades": 3.0}


@dataclass
class ModelAttribution:
    """One model's LAM of the box, ready to show."""

    path: str
    name: str
    attribution: Attribution
    overlay: np.ndarray  # (H, W, 4) uint8: the map over the LR (transparent where it is ~0)


@dataclass
class Attributed:
    box: Box
    models: list[ModelAttribution]
    legend: np.ndarray  # (1, 256, 4) uint8 colour bar of the scale
    generation: int
    request: int


def attribute_job(image: Image, *, models: list[str], box: Box, scale: int, device: str, seed: int,
                  steps: int, context: int | None, generation: int, request: int):
    def run(ctx) -> Attributed:
        lr = image_tensor(image)
        done: list[ModelAttribution] = []
        for i, path in enumerate(models):
            ctx.progress(i / len(models), "loading the model")
            loaded, upscaler = ctx.models.upscaler(path, scale=scale, device=device)
            ctx.check()

            def progress(fraction: float, message: str, i: int = i, name: str = loaded.name) -> None:
                ctx.progress((i + fraction) / len(models), f"{name}: {message}")

            result = local_attribution(loaded.model, lr, box, steps=steps, seed=seed, context=context,
                                       device=upscaler.device, cancel=ctx.cancelled, progress=progress)
            done.append(ModelAttribution(
                path=str(path), name=loaded.name, attribution=result,
                overlay=heatmap_rgba(result.map, **LAM_SCALE, fade=1.0)))
        return Attributed(box=box, models=done, legend=log_colour_bar(decades=LAM_SCALE["decades"]),
                          generation=generation, request=request)

    return run
