"""The expected length of a run, shown in the Setup form before Start.

When a setting a step's time depends on changes (configuration, scale, patch, batch, device,
precision), one step is timed on the worker (``core.train.estimate_step``, a few seconds) after a
short pause, so dragging a spin box does not start a job per value; the iterations only change the
sum. Estimates are kept per setting, so going back to one is instant.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from core.base.errors import NLSNError
from core.train import StepEstimate, TrainConfig
from nlsn_gui.qt.host import Host
from nlsn_gui.qt.training.form import SetupForm
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.training import expected_text
from nlsn_gui.tasks.train import estimate_job

DEBOUNCE_MS = 700


def _key(config: TrainConfig) -> tuple:
    return (config.preset, config.scale, config.patch, config.batch, config.device, config.precision,
            tuple(sorted(config.model.items())))


class StepTiming(QObject):
    def __init__(self, host: Host, form: SetupForm) -> None:
        super().__init__(form)
        self.host, self.form = host, form
        self.estimates: dict[tuple, StepEstimate] = {}
        self.enabled = True
        self._job: int | None = None
        self._timing: tuple | None = None  # the key being timed
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._time)
        for widget in form.timing_widgets():
            signal = getattr(widget, "currentIndexChanged", None) or widget.valueChanged
            signal.connect(self.changed)
        form.iters_spin.valueChanged.connect(self.show)

    def _config(self) -> TrainConfig | None:
        try:
            return self.form.config()
        except NLSNError:
            return None

    def changed(self, *_args) -> None:
        self.show()
        if self.enabled:
            self._timer.start()

    def set_enabled(self, enabled: bool) -> None:
        """Off while a run trains: its live speed says more (and the device is busy). A timing not
        run yet is dropped: building its model between two steps would only stall the run and
        the window."""
        if enabled == self.enabled:
            return
        if enabled:
            self._timer.start()
        else:
            self._timer.stop()
            if self._job is not None:
                self.host.cancel(self._job)
        self.enabled = enabled
        self.show()

    def _time(self) -> None:
        config = self._config()
        if config is None or not self.enabled or not self.form.isVisible():
            return
        key = _key(config)
        if key in self.estimates or key == self._timing:
            return
        if self._job is not None:
            self.host.cancel(self._job)  # an older setting: no longer wanted
        self._timing = key
        self._job = self.host.submit(
            Job("estimate", "Timing a training step", window=False,
                done=lambda estimate, key=key: self._done(key, estimate),
                failed=lambda _message, key=key: self._ended(key),
                cancelled=lambda key=key: self._ended(key)),
            estimate_job(config))
        self.show()

    def _done(self, key: tuple, estimate: StepEstimate) -> None:
        self.estimates[key] = estimate
        self._ended(key)

    def _ended(self, key: tuple) -> None:
        if self._timing == key:
            self._timing, self._job = None, None
        self.show()

    def estimate(self) -> StepEstimate | None:
        config = self._config()
        return self.estimates.get(_key(config)) if config is not None else None

    def show(self, *_args) -> None:
        config = self._config()
        text = ""
        if self.enabled and config is not None:
            key = _key(config)
            text = expected_text(self.estimates.get(key), iters=config.iters,
                                 timing=key == self._timing or self._timer.isActive())
        self.form.time_label.setText(text)
        self.form.time_label.setVisible(bool(text))

    def wake(self) -> None:
        """The form became visible: time the current setting if not known yet."""
        if self.enabled:
            self._timer.start()
