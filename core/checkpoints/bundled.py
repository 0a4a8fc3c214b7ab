"""Bundled models: where they live and how a ``--model NAME_OR_PATH`` is resolved."""

from __future__ import annotations

from pathlib import Path

from core.base.errors import CheckpointError
from resources import MODELS_DIR

MODEL_SUFFIXES = (".safetensors", ".pt", ".pth")
DEFAULT_PRESET = "light"


def bundled_name(scale: int, preset: str = DEFAULT_PRESET) -> str:
    """Name of the bundled model for a scale, e.g. ``nlsn-light-x2``."""
    return f"nlsn-{preset}-x{scale}"


def bundled_models() -> dict[str, Path]:
    """Every model file shipped in ``resources/models``, by name (file stem)."""
    if not MODELS_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.safetensors"))}


def resolve_model(spec: str | None, *, scale: int) -> Path:
    """A path to a model file from a path, a bundled name, or None (the bundled default for ``scale``)."""
    bundled = bundled_models()
    if spec is None:
        name = bundled_name(scale)
        if name not in bundled:
            raise CheckpointError(
                f"no bundled model for x{scale} yet: pass --model FILE "
                "(a released NLSN .pt or a project .safetensors)"
            )
        return bundled[name]
    if spec in bundled:
        return bundled[spec]
    path = Path(spec).expanduser()
    if path.exists():
        return path
    if path.suffix.lower() in MODEL_SUFFIXES or "/" in spec or "\\" in spec:
        raise CheckpointError(f"{path.name}: model file not found ({path})")
    names = ", ".join(bundled) or "none yet"
    raise CheckpointError(f"unknown model {spec!r}: not a file, nor a bundled model (bundled: {names})")
