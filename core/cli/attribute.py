"""``nlsn attribute``: the local attribution map (LAM) of an output box: the LR pixels it depends on."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import numpy as np

from core.base.errors import NLSNError
from core.base.fileio import atomic_write
from core.cli.models import model_and_lr
from core.cli.progress import Progress
from core.image import Image, display_rgb, image_tensor, save_image
from core.inference.devices import select_device
from core.inspection.attribution import FAR_RADIUS, local_attribution
from core.inspection.colours import composite, dimmed_grey, heatmap_rgba, outline

EXIT_OK = 0
DISPLAY_DECADES = 3.0


def parse_box(text: str) -> tuple[int, int, int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if not m:
        raise NLSNError(f"--box must be X,Y,W,H in output pixels, e.g. 120,80,16,16, not {text!r}")
    x, y, w, h = (int(g) for g in m.groups())
    return x, y, w, h


def write_map(path: Path, result, *, display: str = "log", over: Image | None = None, scale: int = 1) -> None:
    """``.npy``: the float map itself; any image format: the map on the inferno scale, LR-sized
    (log: the three decades below the maximum, where the far pixels show; linear: as LAM's
    figures), over the dimmed LR ``over`` with the box outlined when given."""
    if path.suffix.lower() == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, result.map.astype(np.float32), allow_pickle=False)
        atomic_write(path, buffer.getvalue())
        return
    if over is None:
        pixels = heatmap_rgba(result.map, scale=display, decades=DISPLAY_DECADES, fade=0.0)[..., :3]
    else:
        x, y, w, h = result.box
        pixels = composite(dimmed_grey(display_rgb(over)),
                           heatmap_rgba(result.map, scale=display, decades=DISPLAY_DECADES, fade=1.0))
        pixels = outline(pixels, x // scale, y // scale, -(-(x + w) // scale), -(-(y + h) // scale))
    save_image(path, Image(np.ascontiguousarray(pixels)))


def cmd_attribute(args: argparse.Namespace) -> int:
    box = parse_box(args.box)
    loaded, lr = model_and_lr(args)
    device = select_device(args.device)
    progress = Progress()
    result = local_attribution(loaded.model, image_tensor(lr), box, steps=args.steps, sigma=args.sigma,
                               kernel=args.kernel, seed=args.seed, context=args.context, device=device,
                               progress=lambda fraction, detail: progress.update("attributing", fraction, detail))
    progress.clear()
    out = Path(args.output)
    write_map(out, result, display=args.display, over=lr if args.over_lr else None, scale=loaded.scale)
    summary = {"model": loaded.name, "architecture": loaded.architecture, "image": str(args.image),
               "map": str(out), **result.summary()}
    if args.json:
        print(json.dumps(summary))
        return EXIT_OK
    x, y, w, h = result.box
    print(f"{loaded.name}: box {w}x{h} at ({x}, {y}) of the x{loaded.scale} output of a "
          f"{lr.width}x{lr.height} LR image, {result.steps} path points in {result.seconds:.1f} s on {device}")
    print(f"diffusion index {result.diffusion_index:.2f} (Gini {result.gini:.3f}); "
          f"{result.far_share:.1%} of the attribution beyond {FAR_RADIUS} LR pixels of the box; map -> {out}")
    return EXIT_OK
