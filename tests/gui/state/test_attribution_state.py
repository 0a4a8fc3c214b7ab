"""The attribution and overview states without Qt: the box around the query, late results, the
view the maps open on, the table's texts."""

from __future__ import annotations

import numpy as np
import torch

from core.image import Image, image_tensor
from core.inspection import inspect
from core.inspection.attribution import Attribution
from core.network import NLSN, preset
from core.reference.images import smooth_image
from nlsn_gui.state.attribution import AttributionState
from nlsn_gui.state.overview import OverviewState
from nlsn_gui.tasks.attribute import Attributed, ModelAttribution
from nlsn_gui.tasks.overview import Overview


def attributed(box, *, region, generation, request) -> Attributed:
    h, w = 40, 60
    a = Attribution(box=box, region=region, map=np.zeros((h, w)), raw=np.zeros((3, h, w)), diffusion_index=1.5,
                    gini=0.985, far_share=0.25, detector=2.0, baseline_detector=1.0, steps=4, sigma=1.2, kernel=9,
                    seed=0, seconds=1.0)
    m = ModelAttribution(path="a.safetensors", name="a", attribution=a, overlay=np.zeros((h, w, 4), np.uint8))
    return Attributed(box=box, models=[m], legend=np.zeros((1, 256, 4), np.uint8), generation=generation,
                      request=request)


def test_the_box_is_centred_on_the_query_and_kept_inside():
    state = AttributionState()
    assert state.box(None, scale=2, lr_width=60, lr_height=40) is None
    assert state.box((20, 30), scale=2, lr_width=60, lr_height=40) == (53, 33, 16, 16)  # centre (61, 41)
    assert state.box((0, 0), scale=2, lr_width=60, lr_height=40) == (0, 0, 16, 16)
    assert state.box((39, 59), scale=2, lr_width=60, lr_height=40) == (103, 63, 16, 16)  # ends 1 px before the edge


def test_late_or_superseded_results_are_dropped():
    state = AttributionState()
    first = state.next_request()
    state.job = 3
    assert state.document_changed() == [3] and state.job is None
    assert not state.accept(attributed((0, 0, 16, 16), region=(0, 0, 60, 40), generation=0, request=first))
    second = state.next_request()
    assert not state.accept(attributed((0, 0, 16, 16), region=(0, 0, 60, 40), generation=1, request=first))
    assert state.accept(attributed((0, 0, 16, 16), region=(0, 0, 60, 40), generation=1, request=second))
    assert state.captions() == ["a\nDI 1.50 · far 25%"] and state.overlay() is not None
    assert "Box 16×16 at (0, 0) · 4 path points · model saw 60×40 LR pixels" in state.summary()


def test_the_maps_open_on_the_box_within_what_the_model_saw():
    state = AttributionState()
    state.accept(attributed((40, 20, 16, 16), region=(10, 0, 60, 40), generation=0, request=state.next_request()))
    x, y, w, h = state.view_rect(scale=2)  # box in LR: x 20-28, y 10-18; 2.5 boxes = 20 LR px around
    assert (x, y, x + w, y + h) == (10, 0, 48, 38)


def test_overview_state_table_and_csv():
    torch.manual_seed(0)
    ins = inspect(NLSN(preset("tiny", scale=2)), image_tensor(Image(smooth_image(12, 14))))
    from core.inspection.overview import overview_stats

    state = OverviewState()
    assert state.set_inspection(ins) and not state.set_inspection(ins)
    request = state.next_request()
    ov = Overview(mode="buckets", tiles=[], row_titles=[], column_titles=[], stats=overview_stats(ins), query=None,
                  request=request)
    assert not state.accept(Overview(**{**ov.__dict__, "request": request - 1}))
    assert state.accept(ov) and state.stats() is ov.stats
    rows = state.table()
    assert len(rows) == len(ov.stats) and rows[-1][1] == "all" and rows[0][5].endswith(" px")
    assert state.csv().splitlines()[0].startswith("module,body_position,round")
    assert "bucket of every pixel" in state.caption("tiny")
