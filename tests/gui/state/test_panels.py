"""What the compare view shows of a document, without Qt."""

from __future__ import annotations

from core.eval.compare import add_bicubic, add_result, prepare
from core.image import Image, display_rgb
from core.reference.images import smooth_image
from nlsn_gui.state.document import Document
from nlsn_gui.state.panels import default_swipe_pair, document_panels, opened_text, result_text, swipe_pair


def document(mode: str) -> Document:
    image = Image(smooth_image(40, 44))
    c = add_bicubic(prepare(image, mode=mode, scale=2))
    displays = {"lr": display_rgb(c.lr), "bicubic": display_rgb(c.bicubic)}
    if c.hr is not None:
        displays["hr"] = display_rgb(c.hr)
    return Document(image=image, name="truth.png", comparison=c, displays=displays)


def test_panels_follow_what_is_computed():
    doc = document("simulate")
    assert [p.key for p in document_panels(doc)] == ["lr", "bicubic", "hr"]
    assert document_panels(doc)[0].scale == 2 and "PSNR" in document_panels(doc)[1].subtitle
    assert opened_text(doc) == ("truth.png: Simulated LR from the HR image (Ctrl+Enter)", "22×20 → 44×40")
    add_result(doc.comparison, doc.comparison.bicubic, seconds=1.25)  # bicubic as the "result"
    doc.displays["nlsn"] = doc.displays["bicubic"]
    assert [p.key for p in document_panels(doc)] == ["lr", "bicubic", "nlsn", "hr", "diff"]
    assert swipe_pair(doc) == ("nlsn", "hr")
    text = result_text(doc, device="CPU", how="whole image", model_name="m")
    assert text.startswith("NLSN ×2 in 1.2 s on CPU (whole image) with m · PSNR") and "+0.00 dB over bicubic" in text
    assert doc.default_save_name(2) == "truth_x2.png"  # as the batch and the command line name it


def test_default_swipe_pair():
    assert default_swipe_pair([]) is None
    assert default_swipe_pair(["lr", "bicubic", "nlsn"]) == ("bicubic", "nlsn")
    assert default_swipe_pair(["lr", "hr"]) == ("lr", "hr")
    assert default_swipe_pair(["lr"]) == ("lr", "lr")
