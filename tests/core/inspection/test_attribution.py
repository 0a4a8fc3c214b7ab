"""Local attribution maps (LAM): models whose answer is known, completeness, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from core.checkpoints import save_model
from core.cli import main
from core.image import Image, load_image, save_image
from core.inspection.attribution import blur_path, box_around, gaussian_kernel, gini, local_attribution
from core.network import NLSN, preset


class OnePixel(nn.Module):
    """Every output pixel is a fixed texture times LR pixel (py, px): its only input."""

    def __init__(self, py: int, px: int, scale: int = 2) -> None:
        super().__init__()
        self.scale, self.py, self.px = scale, py, px
        self.gain = nn.Parameter(torch.ones(1))
        self.texture = torch.rand(1, 3, 64 * scale, 64 * scale, generator=torch.Generator().manual_seed(1))

    def forward(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        h, w = x.shape[-2] * self.scale, x.shape[-1] * self.scale
        pixel = x[:, :, self.py : self.py + 1, self.px : self.px + 1]  # (N, 3, 1, 1)
        return self.gain * pixel * self.texture[:, :, :h, :w].to(x)


class Nearest(nn.Module):
    """Nearest-neighbour upscaling: an output pixel depends on the LR pixel under it only."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        return self.gain * torch.nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest")


def _image(h: int = 20, w: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_a_model_looking_at_one_pixel_is_attributed_to_that_pixel_only():
    result = local_attribution(OnePixel(py=5, px=17), _image(), (4, 6, 8, 8), steps=12)
    assert np.unravel_index(np.argmax(result.map), result.map.shape) == (5, 17)
    others = result.map.copy()
    others[5, 17] = 0.0
    assert result.map[5, 17] == 1.0 and np.all(others == 0.0)
    # One pixel of 480 holds everything: the Gini coefficient is (n - 1) / n, the diffusion index ~ 0.
    assert result.gini == pytest.approx(1 - 1 / 480, abs=1e-4) and result.diffusion_index < 0.25
    assert result.far_share == pytest.approx(1.0)  # (5, 17) is far from the box's footprint


def test_a_local_model_is_attributed_within_the_box_footprint():
    box = (10, 8, 6, 4)  # output pixels x 10-15 (+1 for the detector's difference), y 8-11 (+1)
    result = local_attribution(Nearest(), _image(), box, steps=10)
    ys, xs = np.nonzero(result.map)
    assert ys.min() >= 4 and ys.max() <= 6 and xs.min() >= 5 and xs.max() <= 8  # LR rows 4-6, columns 5-8
    assert result.far_share == 0.0 and 0 < result.diffusion_index < 5


def test_completeness_the_map_sums_to_the_detector_change():
    result = local_attribution(Nearest(), _image(seed=3), (6, 6, 16, 16), steps=100)
    change = result.detector - result.baseline_detector
    assert change > 0
    assert float(result.raw.sum()) == pytest.approx(change, rel=0.05)


def test_context_limits_the_pixels_the_model_sees():
    image = _image(40, 40)
    whole = local_attribution(Nearest(), image, (30, 30, 8, 8), steps=4)
    near = local_attribution(Nearest(), image, (30, 30, 8, 8), steps=4, context=2)
    assert near.region == (13, 13, 22, 22) and whole.region == (0, 0, 40, 40)
    np.testing.assert_allclose(near.map, whole.map, atol=1e-6)  # a local model loses nothing


def test_nlsn_attribution_is_deterministic_and_reaches_beyond_the_box():
    torch.manual_seed(0)
    model = NLSN(preset("tiny", scale=2))
    image = _image(24, 24)
    a = local_attribution(model, image, (20, 20, 8, 8), steps=3, seed=4)
    b = local_attribution(model, image, (20, 20, 8, 8), steps=3, seed=4)
    np.testing.assert_array_equal(a.map, b.map)
    assert a.map.shape == (24, 24) and a.map.max() == 1.0 and 0 < a.diffusion_index < 100
    assert a.far_share > 0  # the attention reaches every pixel of a one-chunk image
    assert all(p.requires_grad for p in model.parameters())  # as it was


def test_helpers():
    assert gaussian_kernel(5, 0.0).sum() == 1 and gaussian_kernel(5, 0.0)[2, 2] == 1
    assert float(gaussian_kernel(9, 1.2).sum()) == pytest.approx(1.0)
    points, derivatives = blur_path(_image(8, 8), steps=4, sigma=1.2, kernel=9)
    assert points.shape == derivatives.shape == (4, 3, 8, 8)
    np.testing.assert_allclose(points[-1].numpy(), _image(8, 8)[0].double().numpy(), atol=1e-12)  # ends at the image
    assert gini(np.ones(10)) == pytest.approx(0.0, abs=1e-6)
    assert box_around(2, 2, size=16, out_width=40, out_height=30) == (0, 0, 16, 16)
    assert box_around(39, 29, size=16, out_width=40, out_height=30) == (23, 13, 16, 16)


def test_a_box_outside_the_output_is_refused():
    from core.base.errors import NLSNError

    with pytest.raises(NLSNError, match="not inside"):
        local_attribution(Nearest(), _image(), (40, 0, 8, 8), steps=2)


def test_attribute_command(tmp_path, capsys):
    torch.manual_seed(0)
    model = save_model(tmp_path / "tiny.safetensors", NLSN(preset("tiny", scale=2)))
    pixels = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    save_image(tmp_path / "lr.png", Image(pixels))
    args = ["attribute", "--model", str(model), "--image", str(tmp_path / "lr.png"), "--box", "8,8,16,16",
            "--steps", "2"]
    assert main([*args, "-o", str(tmp_path / "map.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"diffusion_index", "gini", "far_share", "box", "completeness", "seconds"} <= set(out)
    assert out["size"] == [28, 20] and load_image(tmp_path / "map.png").pixels.shape == (20, 28, 3)
    assert main([*args, "-o", str(tmp_path / "map.npy")]) == 0
    assert "diffusion index" in capsys.readouterr().out
    saved = np.load(tmp_path / "map.npy", allow_pickle=False)
    assert saved.shape == (20, 28) and saved.max() == pytest.approx(1.0)
    assert main([*args, "-o", str(tmp_path / "over.png"), "--over-lr"]) == 0
    capsys.readouterr()
    over = load_image(tmp_path / "over.png").pixels
    assert over.shape == (20, 28, 3) and tuple(over[4, 4]) == (0, 255, 255) and tuple(over[11, 11]) == (0, 255, 255)
    assert main([*args[:-4], "--box", "100,0,8,8", "-o", str(tmp_path / "x.png")]) == 2
    assert "not inside" in capsys.readouterr().err
    assert main([*args[:-4], "--box", "1,2", "-o", str(tmp_path / "x.png")]) == 2


def test_another_architecture_is_attributed(tmp_path):
    from core.checkpoints import load_model
    from tests.foreign_models import build, save

    loaded = load_model(save(build("Compact"), tmp_path / "compact.pth"))
    result = local_attribution(loaded.model, _image(16, 16), (8, 8, 8, 8), steps=2)
    assert result.map.shape == (16, 16) and result.map.max() == 1.0


def test_out_of_memory_says_what_to_do():
    from core.base.errors import NLSNError

    class Hungry(Nearest):
        def forward(self, x, generator=None):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")

    with pytest.raises(NLSNError, match="out of memory attributing a 24x20 LR region.*--context"):
        local_attribution(Hungry(), _image(), (4, 4, 8, 8), steps=2)
