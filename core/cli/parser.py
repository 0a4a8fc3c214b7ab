"""The ``nlsn`` argument parser. Each command names the module that runs it, imported only when it
runs, so ``nlsn --help`` answers without loading PyTorch."""

from __future__ import annotations

import argparse

from core import __version__


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of the LSH rotations (default 0)")
    p.add_argument("--device", default="auto", metavar="DEVICE",
                   help="auto, cpu, cuda, cuda:N (the N-th GPU) or mps (default: auto)")
    p.add_argument("--ensemble", action="store_true", help="x8 self-ensemble (flips and transposes)")
    p.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto",
                   help="auto: fp16 on CUDA, fp32 elsewhere; bf16 for CPUs with AVX-512 BF16 or AMX")
    p.add_argument("--half", action=argparse.BooleanOptionalAction, default=None,
                   help="the same as --precision fp16 (--no-half: fp32)")
    memory = p.add_mutually_exclusive_group()
    memory.add_argument("--memory", type=float, metavar="GiB",
                        help="memory a forward may take; larger images go in tiles (default: half the free RAM, "
                             "most of a GPU's)")
    memory.add_argument("--tile", type=int, metavar="PX", help="tiles of at most PX x PX LR pixels (default: whole image)")


def add_image_options(p: argparse.ArgumentParser, *, model: str) -> None:
    """--model, --image, --from-hr, --device and --seed of the commands that study one image."""
    p.add_argument("--model", metavar="NAME_OR_PATH", help=f"{model} (default: the bundled x2)")
    p.add_argument("--image", required=True, metavar="IMG", help="the LR image (with --from-hr: an HR image)")
    p.add_argument("--from-hr", action="store_true",
                   help="IMG is an HR image: use its MATLAB-bicubic LR, as Simulate does")
    p.add_argument("--device", default="auto", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=0, help="seed of the LSH rotations (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlsn", description="Image super-resolution with NLSN (Non-Local Sparse Network)."
    )
    parser.add_argument("--version", action="version", version=f"nlsn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("upscale", help="upscale images or folders of images")
    up.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    up.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    up.add_argument("--scale", type=int, choices=[2, 3, 4],
                    help="default: the model's scale, or 2 with the bundled models")
    up.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                    help="bundled model name or a model file: NLSN (.pt/.safetensors) or another architecture "
                         "spandrel knows (ESRGAN, RCAN, SwinIR, HAT...) (default: the bundled model of the scale)")
    up.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG and WebP quality 1-100 (default 95; "
                    "WebP 100: lossless)")
    size = up.add_mutually_exclusive_group()
    size.add_argument("--factor", type=float, metavar="F",
                      help="any output factor, e.g. 1.5: NLSN at the nearest scale above, then MATLAB bicubic")
    size.add_argument("--width", type=int, metavar="PX", help="output width (with --height: both; alone: keeps the aspect)")
    up.add_argument("--height", type=int, metavar="PX", help="output height (alone: keeps the aspect)")
    add_model_options(up)
    up.set_defaults(run=("core.cli.upscale", "cmd_upscale"))

    ev = sub.add_parser("eval", help="PSNR/SSIM on a benchmark folder (Y channel, border = scale)")
    ev.add_argument("--data", required=True, metavar="DIR",
                    help="SelfExSR layout (image_SRF_s/), HR/ + LR_bicubic/Xs/, or a folder of HR images")
    ev.add_argument("--scale", type=int, choices=[2, 3, 4],
                    help="default: the model's scale, or 2 with the bundled models")
    ev.add_argument("--bicubic", action="store_true", help="evaluate MATLAB-bicubic upscaling (with --model too)")
    ev.add_argument("--model", action="append", metavar="NAME_OR_PATH",
                    help="a model to evaluate, NLSN or any architecture spandrel knows; repeat it to compare "
                         "several (default: the bundled one)")
    ev.add_argument("--rounds", type=int, nargs="+", metavar="R",
                    help="evaluate one NLSN model with each of these numbers of hash rounds (the paper's "
                         "Table 3): a row per setting with PSNR, SSIM and seconds")
    ev.add_argument("--chunk", type=int, nargs="+", metavar="K",
                    help="... and chunk sizes (the paper's Fig. 5; default: the model's, 144)")
    ev.add_argument("--tiles", type=int, nargs="+", metavar="PX",
                    help="evaluate one model on the whole image and in tiles of these sides (LR pixels): "
                         "what cutting the image (and the attention's reach) costs")
    ev.add_argument("--per-image", action="store_true", help="a row per image (always, for one method as text)")
    ev.add_argument("--format", choices=["text", "markdown", "csv"], default="text",
                    help="the table as text, Markdown or CSV (to paste into a paper)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table "
                    "(several methods: {\"models\": [...]})")
    add_model_options(ev)
    ev.set_defaults(run=("core.cli.evaluate", "cmd_eval"))

    tr = sub.add_parser("train", help="train a model (the paper's recipe by default); works under torchrun")
    tr.add_argument("--data", action="append", metavar="DIR", help="folder of HR training images (repeatable)")
    tr.add_argument("--lr-data", action="append", metavar="DIR",
                    help="folder of matching LR images, one per --data (default: made with MATLAB bicubic)")
    tr.add_argument("--scale", type=int, choices=[2, 3, 4])
    tr.add_argument("--preset", help="model configuration: light, paper, tiny; ablations: light-nonlocal-off, light-local, "
                    "light-random-hash")
    tr.add_argument("--iters", type=int, help="total iterations (paper: 1000000)")
    tr.add_argument("--batch", type=int, help="global batch size (paper: 16)")
    tr.add_argument("--patch", type=int, help="LR patch size (paper: 48)")
    tr.add_argument("--lr", type=float, help="learning rate (paper: 1e-4, halved every 200k iterations)")
    tr.add_argument("--lr-halve-every", type=int, metavar="K", help="halve the learning rate every K iterations")
    tr.add_argument("--warmup", type=int, metavar="K",
                    help="raise the learning rate linearly over the first K iterations (default 0, as the "
                         "paper; useful with --init-from)")
    tr.add_argument("--threads", type=int, metavar="N", help="CPU threads for training (default: all cores)")
    tr.add_argument("--precision", choices=["fp32", "bf16"],
                    help="fp32 (paper, default) or bf16 mixed precision (about 2x faster measured on a CPU "
                         "with AVX-512 BF16; for such CPUs, AMX and recent GPUs): weights, optimizer and "
                         "validation stay fp32")
    tr.add_argument("--ema-decay", type=float, metavar="D",
                    help="keep a moving average of the weights (e.g. 0.999; default 0: off, as the paper); "
                         "the average is validated and saved as the run's models")
    tr.add_argument("--keep-every", type=int, metavar="K",
                    help="also keep the model of every K-th step in snapshots/ (default 0: none), "
                         "e.g. to average the last ones with nlsn average")
    tr.add_argument("--save-every", type=int, metavar="K", help="checkpoint every K iterations")
    tr.add_argument("--val-every", type=int, metavar="K", help="validate every K iterations")
    tr.add_argument("--log-every", type=int, metavar="K", help="log every K iterations")
    tr.add_argument("--val", metavar="DIR", help="validation set (default: Set5 beside the project, when present)")
    tr.add_argument("--no-val", action="store_true", help="no validation")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    tr.add_argument("--init-from", metavar="MODEL",
                    help="start from a model file or bundled model (e.g. nlsn-light-x2 for x3/x4; the same "
                         "scale keeps the upsampler too)")
    tr.add_argument("--cache-dir", metavar="DIR", help="where prepared training pairs are cached")
    tr.add_argument("--config", metavar="FILE", help="JSON file of training settings (flags override it)")
    tr.add_argument("--out", metavar="RUN_DIR", help="folder of a new run")
    tr.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    tr.set_defaults(run=("core.cli.train", "cmd_train"))

    st = sub.add_parser("stats", help="parameters, FLOPs, time and memory of a model for an input size, per stage")
    st.add_argument("--model", metavar="NAME_OR_PATH", help="any model the app loads (default: the bundled x2)")
    st.add_argument("--size", default="256x256", metavar="WxH", help="LR input size (default 256x256)")
    st.add_argument("--device", default="cpu", metavar="DEVICE", help="cpu (default), cuda, cuda:N or mps")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--json", action="store_true", help="print one JSON object: params, flops, seconds, "
                    "peak_bytes, stages")
    st.set_defaults(run=("core.cli.stats", "cmd_stats"))

    at = sub.add_parser("attribute", help="local attribution map (LAM) of an output box: the LR pixels it depends "
                                          "on, and their diffusion index")
    add_image_options(at, model="any model the app loads")
    at.add_argument("--box", required=True, metavar="X,Y,W,H",
                    help="the output patch, in output pixels (LAM's default: 16x16)")
    at.add_argument("-o", "--output", required=True, metavar="MAP",
                    help="the map, of the LR size: an image (inferno colours) or .npy (float32, max 1)")
    at.add_argument("--display", choices=["log", "linear"], default="log",
                    help="colours of an image map: log (three decades, the far pixels show; default) or linear")
    at.add_argument("--over-lr", action="store_true",
                    help="draw an image map over the dimmed LR, the box outlined (a figure's panel)")
    at.add_argument("--steps", type=int, default=50, metavar="N", help="points on the blur path (default 50, as LAM)")
    at.add_argument("--sigma", type=float, default=1.2, help="blur of the path's baseline (default 1.2, as LAM)")
    at.add_argument("--kernel", type=int, default=9, metavar="PX", help="blur kernel size, odd (default 9, as LAM)")
    at.add_argument("--context", type=int, metavar="PX",
                    help="the model sees only the LR pixels within PX of the box (faster; default: the whole image)")
    at.add_argument("--json", action="store_true", help="print one JSON object: diffusion_index, gini, box, "
                    "detector, completeness, seconds")
    at.set_defaults(run=("core.cli.attribute", "cmd_attribute"))

    an = sub.add_parser("attention", help="the sparse attention of a whole image: per module and hash round, bucket "
                                          "balance, attended distance, non-local share (CSV, small multiples)")
    add_image_options(an, model="an NLSN model")
    an.add_argument("--csv", metavar="FILE", help="write the statistics as CSV (a row per module and round, "
                    "round 'all': combined)")
    an.add_argument("--grid", metavar="PNG", help="write modules x rounds small multiples: the bucket maps, or "
                    "with --query that pixel's attention per round and combined")
    an.add_argument("--query", metavar="X,Y", help="a query pixel (LR) for --grid")
    an.add_argument("--json", action="store_true", help="print one JSON object: {\"rows\": [...]} with the CSV's "
                    "columns")
    an.set_defaults(run=("core.cli.attention", "cmd_attention"))

    av = sub.add_parser("average", help="average the weights of model files of one configuration "
                                        "(e.g. a run's snapshots, --keep-every)")
    av.add_argument("models", nargs="+", metavar="MODEL", help="model files or bundled names (two or more)")
    av.add_argument("--out", required=True, metavar="FILE", help="the averaged model (.safetensors)")
    av.set_defaults(run=("core.cli.models", "cmd_average"))
    return parser


