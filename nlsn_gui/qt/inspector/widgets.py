"""The inspector's building blocks: a section's bold title, a compact form, a strip of small maps."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFormLayout, QLabel, QSizePolicy


def section_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)  # a long title must not widen the dock
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setContentsMargins(0, 4, 0, 0)
    return label


def compact_form() -> QFormLayout:
    """A form without margins whose fields take the dock's width."""
    form = QFormLayout()
    form.setContentsMargins(0, 0, 0, 0)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(4)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def small_maps(height: int) -> pg.GraphicsLayoutWidget:
    """A strip for small maps side by side: pixels drawn sharp, the dock's width, ``height`` tall."""
    glw = pg.GraphicsLayoutWidget()
    glw.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    glw.ci.layout.setContentsMargins(0, 0, 0, 0)
    glw.ci.layout.setSpacing(4)
    glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    glw.setFixedHeight(height)
    return glw
