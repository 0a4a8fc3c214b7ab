"""The Attention Overview window, driven as a user would: open it from the inspector, read the
small multiples and the statistics, switch to the query's attention, click a map, export."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from core.image import Image, load_image  # noqa: E402
from core.inspection import bucket_map, colourise_buckets, heatmap_rgba, query_attention  # noqa: E402
from core.inspection.overview import overview_stats  # noqa: E402
from core.reference.images import smooth_image  # noqa: E402
from nlsn_gui.tasks.inspect import HEAT_SCALE  # noqa: E402
from tests.gui.qt.helpers import TIMEOUT  # noqa: E402
from tests.gui.qt.test_inspector import H, W, inspected, two_model, view_for  # noqa: E402, F401


def test_overview_of_every_module_and_round(qtbot, window, two_model, tmp_path):  # noqa: F811
    pixels = smooth_image(H, W)
    expected = inspected(qtbot, window, two_model, pixels)
    panel = window.inspector
    panel.overview_button.click()
    dialog = panel.overview
    qtbot.waitUntil(lambda: dialog.state.overview is not None, timeout=TIMEOUT)
    ov = dialog.state.overview
    assert ov.mode == "buckets" and len(ov.tiles) == 2 and len(ov.tiles[0]) == 3
    assert ov.row_titles == ["Module 1 (body 0)", "Module 2 (body 9)"]
    for i, cap in enumerate(expected.modules):
        for r in range(cap.n_hashes):
            np.testing.assert_array_equal(ov.tiles[i][r], colourise_buckets(bucket_map(cap, r), cap.buckets.buckets))
    assert not dialog.mode_box.model().item(1).isEnabled()  # no query pixel yet

    # The table: a row per module and round and one of the rounds combined, as core computes them.
    stats = overview_stats(expected)
    assert dialog.table.rowCount() == len(stats) == 8
    assert dialog.table.item(3, 1).text() == "all" and dialog.table.item(3, 1).font().bold()
    assert dialog.table.item(0, 2).text() == f"{stats[0].balance:.3f}"
    assert dialog.table.item(7, 5).text() == f"{stats[7].mean_distance:.1f} px"
    assert dialog.table.item(7, 6).text() == f"{stats[7].nonlocal_share:.1%}"

    # A query pixel: the overview switches to its attention, per round and combined.
    panel.select_query(7, 9)
    qtbot.waitUntil(lambda: dialog.state.overview is not None and dialog.state.overview.mode == "query",
                    timeout=TIMEOUT)
    ov = dialog.state.overview
    assert ov.column_titles == ["Round 1", "Round 2", "Round 3", "All rounds"] and ov.query == (7, 9)
    q = query_attention(expected.modules[1], 7, 9)
    np.testing.assert_array_equal(ov.tiles[1][3], heatmap_rgba(q.combined, vmax=float(q.round_weights.max()),
                                                               **HEAT_SCALE))
    assert "x 9, y 7" in dialog.caption.text()

    # A click on a map shows that module and round in the inspector.
    dialog.cellSelected.emit(1, 2)
    view_for(qtbot, panel, module=1, round_=2)

    assert dialog.export_csv(tmp_path / "stats.csv")
    rows = list(csv.DictReader((tmp_path / "stats.csv").open()))
    assert len(rows) == 8 and rows[3]["round"] == "all"
    assert dialog.save_png(tmp_path / "grid.png")
    assert load_image(tmp_path / "grid.png").pixels.shape == (2 * H + 2, 4 * W + 3 * 2, 3)

    # A new image: nothing inspected, the overview says so.
    window.open_image(Image(smooth_image(H, W, seed=4)), name="b.png")
    qtbot.waitUntil(lambda: "Inspect" in dialog.caption.text(), timeout=TIMEOUT)
