"""Model > Output Size…: the network's own scale, any factor, or a target width and/or height;
remembered, planned for the open image, and shown beside its size in the status bar."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.base.errors import NLSNError
from nlsn_gui.state.choices import OutputTarget
from nlsn_gui.state.panels import size_text


class OutputSizeDialog(QDialog):
    def __init__(self, target: OutputTarget | None, *, lr_size: tuple[int, int] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Output Size")
        self.lr_size = lr_size
        self.native = QRadioButton("The network's scale (the Scale box)")
        self.by_factor = QRadioButton("Factor")
        self.by_size = QRadioButton("Size")
        group = QButtonGroup(self)
        for button in (self.native, self.by_factor, self.by_size):
            group.addButton(button)
            button.toggled.connect(self._update)
        self.factor = QDoubleSpinBox()
        self.factor.setRange(1.0, 16.0)
        self.factor.setDecimals(2)
        self.factor.setSingleStep(0.25)
        self.factor.setPrefix("×")
        self.factor.setValue(target.factor if target and target.factor else 1.5)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value, what in ((self.width_box, target.width if target else None, "width"),
                                 (self.height_box, target.height if target else None, "height")):
            box.setRange(0, 65535)
            box.setSuffix(" px")
            box.setSpecialValueText("auto")  # 0: from the other side, keeping the aspect
            box.setValue(value or 0)
            box.setToolTip(f"Output {what}; auto keeps the aspect ratio")
        grid = QGridLayout()
        grid.addWidget(self.native, 0, 0, 1, 3)
        grid.addWidget(self.by_factor, 1, 0)
        grid.addWidget(self.factor, 1, 1, 1, 2)
        grid.addWidget(self.by_size, 2, 0)
        grid.addWidget(self.width_box, 2, 1)
        grid.addWidget(self.height_box, 2, 2)
        self.note = QLabel()
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        for box in (self.factor, self.width_box, self.height_box):
            box.valueChanged.connect(self._update)
        (self.by_factor if target and target.factor else self.by_size if target else self.native).setChecked(True)
        self._update()

    def target(self) -> OutputTarget | None:
        if self.by_factor.isChecked():
            return OutputTarget(factor=self.factor.value())
        if self.by_size.isChecked():
            return OutputTarget(width=self.width_box.value() or None, height=self.height_box.value() or None)
        return None

    def _update(self, *_args) -> None:
        self.factor.setEnabled(self.by_factor.isChecked())
        for box in (self.width_box, self.height_box):
            box.setEnabled(self.by_size.isChecked())
        target = self.target()
        if target is None:
            self.note.setText("Save writes NLSN's own result.")
            self.ok.setEnabled(True)
            return
        if self.lr_size is None:
            self.note.setText("NLSN runs at the nearest scale at or above; the MATLAB bicubic takes it to the size.")
            self.ok.setEnabled(bool(target.factor or target.width or target.height))
            return
        try:
            size = target.plan(*self.lr_size)
        except NLSNError as err:
            self.note.setText(str(err))
            self.ok.setEnabled(False)
            return
        self.note.setText(f"{self.lr_size[0]}×{self.lr_size[1]} → {size.width}×{size.height}: NLSN ×{size.scale}, "
                          f"then the MATLAB bicubic{' (none needed)' if size.exact_for(*self.lr_size) else ''}.")
        self.ok.setEnabled(True)


class OutputSizeChoice:
    """The window's output size (``window``: its settings, document, scale box and status bar)."""

    def __init__(self, window) -> None:
        self.window = window
        self.target = OutputTarget.restore(window.settings)

    def size(self):
        doc = self.window.doc
        if self.target is None or doc is None:
            return None
        return self.target.plan(doc.comparison.lr.width, doc.comparison.lr.height)

    def show(self) -> None:
        doc = self.window.doc
        self.window.info_label.setText(size_text(doc.comparison, self.size()) if doc is not None else "")

    def dialog(self) -> None:
        doc = self.window.doc
        lr = doc.comparison.lr if doc is not None else None
        dialog = OutputSizeDialog(self.target, lr_size=(lr.width, lr.height) if lr else None, parent=self.window)
        if dialog.exec():
            self.set(dialog.target())

    def set(self, target: OutputTarget | None) -> None:
        self.target = target
        OutputTarget.save(self.window.settings, target)
        if (size := self.size()) is not None:
            self.window.rescale(size.scale)  # the nearest network scale at or above
        self.show()
