"""Any output size: NLSN at the nearest scale at or above, then the MATLAB bicubic to the size."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from core.base.errors import NLSNError
from core.checkpoints import save_model
from core.image import Image
from core.image.resize import imresize
from core.inference.output_size import fit_to, plan_output
from core.network import NLSN, preset
from core.reference.images import smooth_image
from tests.paths import ROOT


def test_the_network_scale_is_the_nearest_at_or_above():
    assert plan_output(100, 80, factor=1.5) == plan_output(100, 80, factor=1.5)
    assert (plan_output(100, 80, factor=1.5).scale, plan_output(100, 80, factor=2).scale) == (2, 2)
    assert plan_output(100, 80, factor=2.5).scale == 3 and plan_output(100, 80, factor=3.2).scale == 4
    assert plan_output(100, 80, factor=6).scale == 4  # beyond x4: x4, then bicubic
    size = plan_output(100, 80, target_width=250)
    assert (size.width, size.height, size.scale, size.tag) == (250, 200, 3, "250x200")  # keeps the aspect
    size = plan_output(100, 80, target_width=150, target_height=400)
    assert (size.width, size.height, size.scale) == (150, 400, 4)  # both given: that box, the larger need
    assert plan_output(100, 80, factor=1.5).tag == "x1.5"
    for bad in (dict(factor=0.5), dict(factor=1.5, target_width=10), dict(), dict(target_height=0),
                dict(target_width=5000)):
        with pytest.raises(NLSNError):
            plan_output(100, 80, **bad)


def test_fit_is_the_matlab_bicubic_and_keeps_alpha_and_metadata():
    sr = Image(smooth_image(40, 60), alpha=np.full((40, 60), 200, np.uint8), icc_profile=b"icc", exif=b"exif")
    size = plan_output(30, 20, factor=1.5)  # 45 x 30 from the x2 result 60 x 40
    fitted = fit_to(sr, size)
    assert fitted.pixels.shape == (30, 45, 3) and fitted.alpha.shape == (30, 45)
    assert np.array_equal(fitted.pixels, imresize(sr.pixels, output_shape=(30, 45)))
    assert fitted.icc_profile == b"icc" and fitted.exif == b"exif"
    assert fit_to(sr, plan_output(30, 20, factor=2)) is sr  # already that size


def test_nlsn_upscale_by_a_factor_or_to_a_width(tmp_path):
    PILImage.fromarray(smooth_image(20, 30)).save(tmp_path / "in.png")
    torch.manual_seed(0)
    save_model(tmp_path / "tiny.safetensors", NLSN(preset("tiny", scale=2)))

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "core.cli", "upscale", str(tmp_path / "in.png"), "-o",
                               str(tmp_path / "out"), "--model", str(tmp_path / "tiny.safetensors"), *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)

    done = run("--factor", "1.5")
    assert done.returncode == 0, done.stderr
    assert PILImage.open(tmp_path / "out" / "in_x1.5.png").size == (45, 30)
    done = run("--width", "50")
    assert done.returncode == 0, done.stderr
    assert PILImage.open(tmp_path / "out" / "in_50x33.png").size == (50, 33)
    done = run("--factor", "1.5", "--height", "9")
    assert done.returncode == 2 and "not both" in done.stderr and "Traceback" not in done.stderr
