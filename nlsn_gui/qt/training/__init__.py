"""The training panel."""

from nlsn_gui.qt.training.panel import TrainingPanel

__all__ = ["TrainingPanel"]
