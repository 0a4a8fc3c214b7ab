"""Training: the paper's recipe, resumable runs in a run folder, live events, DDP under torchrun."""

from core.train.config import PRECISIONS, TrainConfig
from core.train.dist import DistContext, dist_from_env
from core.train.estimate import StepEstimate, estimate_step
from core.train.events import (
    CheckpointEvent,
    DataEvent,
    Event,
    FinishedEvent,
    Listener,
    MessageEvent,
    StepEvent,
    ValidationEvent,
)
from core.train.history import HistorySnapshot, RunHistory, smooth
from core.train.run_folder import RunFolder
from core.train.setup import bf16_problem, check_setup, default_data_dirs, default_val_dir, load_init_source
from core.train.trainer import Trainer
from core.train.validation import stack_previews
from core.train.warmup import warm_up

__all__ = [
    "StepEstimate",
    "estimate_step",
    "PRECISIONS",
    "CheckpointEvent",
    "DataEvent",
    "DistContext",
    "Event",
    "FinishedEvent",
    "HistorySnapshot",
    "Listener",
    "MessageEvent",
    "RunFolder",
    "RunHistory",
    "StepEvent",
    "Trainer",
    "TrainConfig",
    "ValidationEvent",
    "bf16_problem",
    "check_setup",
    "default_data_dirs",
    "default_val_dir",
    "dist_from_env",
    "load_init_source",
    "smooth",
    "stack_previews",
    "warm_up",
]
