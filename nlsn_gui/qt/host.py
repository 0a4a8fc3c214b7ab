"""The one seam between the main window and its panels (inspector, training panel, batch dialog).

A panel gets a :class:`Host` and nothing else of the window: it says things in the status bar,
shows errors, submits jobs (their results come back to the handlers it gives), reads the current
selection and run options, makes a model the upscale model, and draws over the compare view
through its overlay API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nlsn_gui.qt.compare import CompareView
from nlsn_gui.state.choices import ModelEntry, OutputTarget, RunOptions, Selection
from nlsn_gui.state.jobs import Job
from nlsn_gui.state.store import Store


@dataclass(frozen=True)
class Host:
    settings: Store
    compare: CompareView
    status: Callable[[str], None]  # a line in the status bar
    error: Callable[[str], None]  # a readable message (status bar, and a box unless quiet)
    submit: Callable[[Job, Callable[[Any], Any]], int]  # queue fn(ctx) on the worker: the job id
    cancel: Callable[[int], None]  # cancel one job (queued: dropped; running: asked to stop)
    selection: Callable[[], Selection]  # what the window has chosen and shows now
    use_model: Callable[[Path, str, int], None]  # (model file, label, scale): make it the upscale model
    waiting: Callable[[str], dict[int, str]]  # jobs queued behind a running one of this kind, by id
    run_options: Callable[[], RunOptions]  # ensemble, precision, memory or tiles, quality
    output_target: Callable[[], OutputTarget | None]  # the size results are saved at (None: the network's)
    models: Callable[[int], list[ModelEntry]] = lambda scale: []  # the models of a scale the app knows
