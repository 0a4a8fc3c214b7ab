"""Model files: the authors' released ``.pt`` state dicts, the project's safetensors, the bundled
models, and checkpoint averaging.

Nothing here unpickles arbitrary objects: released files go through ``torch.load(weights_only=True)``,
the project's files are safetensors (no code at all). Every failure is a
:class:`~core.base.errors.CheckpointError` with one precise line.
"""

from core.checkpoints.averaging import average_models, write_average
from core.checkpoints.bundled import MODEL_SUFFIXES, bundled_models, bundled_name, resolve_model
from core.checkpoints.layout import infer_config, load_state_strict
from core.checkpoints.loading import LoadedModel, load_model
from core.checkpoints.project import save_model

__all__ = [
    "MODEL_SUFFIXES",
    "LoadedModel",
    "average_models",
    "bundled_models",
    "bundled_name",
    "infer_config",
    "load_model",
    "load_state_strict",
    "resolve_model",
    "save_model",
    "write_average",
]
