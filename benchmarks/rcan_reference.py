"""A small RCAN (or Real-ESRGAN's Compact) of spandrel's own class, trained briefly on the 291 images:
another architecture to compare NLSN with (``nlsn eval --model``, the app's compare view) where no
pretrained file is at hand.

    python benchmarks/rcan_reference.py --out rcan-small-x2.safetensors --minutes 40
    python benchmarks/rcan_reference.py --arch Compact --out compact-x2.safetensors --minutes 20

The paper's recipe but shorter (48-pixel LR patches, batch 16, L1, Adam 2e-4 halved at 60 % and
85 % of the time); resumable: run it again with the same ``--out`` and it goes on from the file.
Written as plain safetensors, as RCAN's authors' state dicts are laid out, so spandrel detects it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.images import load_training_images  # noqa: E402
from core.data.patches import PatchSampler  # noqa: E402
from core.network.spandrel_import import import_spandrel  # noqa: E402
from core.train.setup import default_data_dirs  # noqa: E402

SHAPES = {"RCAN": dict(n_resgroups=3, n_resblocks=6, n_feats=32, reduction=8),
          "Compact": dict(num_feat=32, num_conv=8)}


def build(arch: str, scale: int):
    import_spandrel()
    if arch == "Compact":
        from spandrel.architectures.Compact import Compact

        return Compact(upscale=scale, **SHAPES[arch])
    from spandrel.architectures.RCAN import RCAN

    return RCAN(scale=scale, norm=True, **SHAPES[arch])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arch", choices=sorted(SHAPES), default="RCAN")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from safetensors.torch import load_file, save_file

    dirs = [d for d in default_data_dirs() if d.is_dir()]
    if not dirs:
        print("the 291-image training set is not there (../shared/data/train): nothing to train on", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.arch, args.scale)
    step, seconds = 0, 0.0
    if args.out.is_file():
        model.load_state_dict(load_file(str(args.out)), strict=True)
        with open(args.out, "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        meta = header.get("__metadata__", {})
        step, seconds = int(meta.get("step", 0)), float(meta.get("seconds", 0.0))
    images = load_training_images(dirs, scale=args.scale, min_lr_size=48, cache_dir=ROOT / ".cache" / "train")
    sampler = PatchSampler(images, scale=args.scale, patch=48, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.99))
    budget = args.minutes * 60
    last_save = time.perf_counter()

    def save() -> None:
        meta = {"step": str(step), "seconds": f"{seconds:.0f}", "architecture": args.arch,
                "shape": json.dumps(SHAPES[args.arch]), "recipe": "L1, Adam 2e-4, 48 px LR patches, batch 16, 291 images"}
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out), metadata=meta)

    while seconds < budget:
        lr = 2e-4 * (0.5 if seconds > 0.6 * budget else 1.0) * (0.5 if seconds > 0.85 * budget else 1.0)
        for group in opt.param_groups:
            group["lr"] = lr
        start = time.perf_counter()
        x, y = sampler.batch(step, batch_size=16)
        loss = torch.nn.functional.l1_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seconds += time.perf_counter() - start
        if step % 50 == 0:
            print(f"step {step}  loss {loss.item():.4f}  {seconds / 60:.1f} min", flush=True)
        if time.perf_counter() - last_save > 120:
            save()
            last_save = time.perf_counter()
    save()
    print(f"wrote {args.out} after {step} steps ({seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
