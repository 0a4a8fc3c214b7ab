"""The inspector's rules without Qt: late results, the seed before a re-hash, the query pixel."""

from __future__ import annotations

import numpy as np
import torch

from core.image import Image, image_tensor
from core.inspection import inspect
from core.network import NLSN, preset
from core.reference.images import smooth_image
from nlsn_gui.state.inspector import HINT, READY_HINT, InspectorState
from nlsn_gui.tasks.inspect import Inspected


def inspected(seed: int, *, generation: int, model: str = "m.safetensors") -> Inspected:
    torch.manual_seed(0)
    net = NLSN(preset("tiny", scale=2))
    ins = inspect(net, image_tensor(Image(smooth_image(12, 14))), seed=seed)
    return Inspected(ins, np.zeros((12, 14, 3), np.uint8), model, "tiny", "CPU", 0.1, generation)


def test_late_results_for_another_image_are_dropped():
    state = InspectorState()
    stale = inspected(0, generation=state.generation)
    state.inspect_job, state.view_job = 4, 5
    assert state.document_changed() == [4, 5]  # to cancel
    assert not state.accept_inspection(stale) and state.inspection is None
    assert state.accept_inspection(inspected(0, generation=state.generation))


def test_a_rehash_compares_with_the_seed_before():
    state = InspectorState()
    assert state.accept_inspection(inspected(3, generation=0))
    assert state.previous is None and state.rehash_seed(3) == 4 and state.rehash_seed(9) == 9
    first = state.inspection
    assert state.accept_inspection(inspected(4, generation=0))
    assert state.previous is first  # seed 3 -> 4
    assert state.accept_inspection(inspected(4, generation=0))
    assert state.previous is first  # the same seed again: still compared with 3
    assert state.accept_inspection(inspected(5, generation=0, model="other.safetensors"))
    assert state.previous is None  # another model: nothing to compare with


def test_query_pixel_is_clamped_and_found_under_a_click():
    state = InspectorState()
    assert not state.select_query(1, 1)  # nothing inspected yet
    state.accept_inspection(inspected(0, generation=0))
    assert state.select_query(50, -3) and state.query == (11, 0)
    assert state.lr_pixel(9.5, 3.9) == (1, 4)  # output (x, y) at x2 -> LR (y, x)
    assert state.marker() == (0, 22, 2)  # query (11, 0): its 2x2 block in output pixels


def test_texts_and_legends():
    state = InspectorState()
    assert state.info_text(has_document=False, module=0) == HINT
    assert state.info_text(has_document=True, module=0) == READY_HINT
    state.inspect_job = 1
    assert state.info_text(has_document=True, module=0) == "Inspecting…"
    state.accept_inspection(inspected(0, generation=0))
    assert state.info_text(has_document=True, module=0).startswith("tiny · seed 0 · 14×12 LR · 10 buckets × 2 rounds")
    assert state.legend_kind("buckets") == "bars" and state.legend_kind("combined") == "bars"  # no query yet
    assert state.overlay_rgba("buckets") is None  # no view yet
