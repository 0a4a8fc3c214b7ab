"""The compare view's bar: which panels show, side by side or swipe (and which two), zoom.

A QToolBar (not a plain row): theme-aware separators, and on a narrow window whatever does not fit
goes into its » extension menu instead of being squashed. It only announces what the user chose;
the view decides and calls back to show the state.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QLabel,
    QToolBar,
    QToolButton,
)

ZOOM_PRESETS: tuple[int, ...] = (100, 200, 400, 800)


class CompareToolbar(QToolBar):
    panelToggled = Signal(str, bool)  # panel key, shown
    modeChosen = Signal(str)  # "side" or "swipe"
    swipePairChosen = Signal(str, str)  # left key, right key
    fitClicked = Signal()
    zoomChosen = Signal(float)  # percent

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMovable(False)
        self.setFloatable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setContentsMargins(2, 0, 2, 0)
        self.layout().setSpacing(2)

        # Panel visibility check boxes are inserted before this separator (set_panels).
        self._check_actions = {}
        self.checks: dict[str, QCheckBox] = {}
        self._sep_checks = self.addSeparator()

        self.side_button = self._button("Side by side", "Show the panels side by side")
        self.swipe_button = self._button("Swipe", "Show two panels in one view with a draggable divider")
        group = QButtonGroup(self)
        group.setExclusive(True)
        for button, mode in ((self.side_button, "side"), (self.swipe_button, "swipe")):
            button.setCheckable(True)
            group.addButton(button)
            button.toggled.connect(lambda on, mode=mode: on and self.modeChosen.emit(mode))
        self.side_button.setChecked(True)

        self.combo_left, self.combo_right = QComboBox(self), QComboBox(self)
        self._vs = QLabel(" │ ", self)
        for combo, tip in ((self.combo_left, "Swipe: left image"), (self.combo_right, "Swipe: right image")):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setToolTip(tip)
            combo.activated.connect(self._on_combo)
        # Shown in swipe mode only: side by side they would only take the zoom presets' room.
        self._swipe_actions = [self.addWidget(w) for w in (self.combo_left, self._vs, self.combo_right)]
        self.addSeparator()

        fit = self._button("Fit", "Fit the whole image in each panel")
        fit.clicked.connect(self.fitClicked)
        self.zoom_buttons: list[QToolButton] = [fit]
        for pct in ZOOM_PRESETS:
            n = pct // 100
            button = self._button(f"{pct}%", f"Zoom to {pct}% (one output pixel = {n}×{n} screen pixels)")
            button.clicked.connect(lambda _checked=False, pct=pct: self.zoomChosen.emit(float(pct)))
            self.zoom_buttons.append(button)
        self.zoom_label = QLabel("—", self)
        self.zoom_label.setToolTip("Current zoom (100% = one output pixel per screen pixel)")
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance("8888%") + 8)
        self.zoom_label.setContentsMargins(4, 0, 0, 0)
        self.addWidget(self.zoom_label)

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addWidget(button)
        return button

    def _on_combo(self, _index: int = 0) -> None:
        left, right = self.combo_left.currentData(), self.combo_right.currentData()
        if left is not None and right is not None:
            self.swipePairChosen.emit(left, right)

    # ------------------------------------------------------------------ shown state

    def set_panels(self, panels: list[tuple[str, str, bool]]) -> None:
        """(key, title, visible) of every panel, in order: check boxes and swipe choices."""
        for key, action in self._check_actions.items():
            self.removeAction(action)
            self.checks[key].deleteLater()
        self.checks, self._check_actions = {}, {}
        for key, title, visible in panels:
            check = QCheckBox(title, self)
            check.setChecked(visible)
            check.setToolTip(f"Show the {title} panel")
            check.toggled.connect(partial(self.panelToggled.emit, key))
            check.setContentsMargins(2, 0, 6, 0)
            self._check_actions[key] = self.insertWidget(self._sep_checks, check)
            self.checks[key] = check
        self._sep_checks.setVisible(bool(panels))
        for combo in (self.combo_left, self.combo_right):
            combo.blockSignals(True)
            combo.clear()
            for key, title, _visible in panels:
                combo.addItem(title, key)
            combo.blockSignals(False)

    def set_title(self, key: str, title: str) -> None:
        if key in self.checks:
            self.checks[key].setText(title)

    def set_checked(self, key: str, visible: bool) -> None:
        check = self.checks.get(key)
        if check is not None and check.isChecked() != visible:
            check.blockSignals(True)
            check.setChecked(visible)
            check.blockSignals(False)

    def set_swipe_pair(self, left: str, right: str) -> None:
        for combo, key in ((self.combo_left, left), (self.combo_right, right)):
            index = combo.findData(key)
            if combo.currentIndex() != index:
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)

    def swipe_choices_shown(self) -> bool:
        return self._swipe_actions[0].isVisible()

    def set_state(self, *, has_panels: bool, swipe: bool) -> None:
        for action in self._swipe_actions:
            action.setVisible(has_panels and swipe)
        for widget in (*self.zoom_buttons, self.side_button, self.swipe_button):
            widget.setEnabled(has_panels)
        for button, on in ((self.side_button, not swipe), (self.swipe_button, swipe)):
            if button.isChecked() != on:
                button.blockSignals(True)
                button.setChecked(on)
                button.blockSignals(False)
        for check in self.checks.values():
            check.setEnabled(not swipe)  # swipe shows the chosen pair only
        if not has_panels:
            self.zoom_label.setText("—")
