"""What the toolbar chooses: mode, scale, device, seed and the model; and the models to choose from.

The model list holds the bundled models and those the user opened (or trained, or averaged), which
are remembered. :class:`Selection` is what a job needs of all that, read at the moment it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.checkpoints import bundled_models
from core.eval.compare import MODES
from core.inference.output_size import OutputSize, plan_output
from nlsn_gui.state.document import Document
from nlsn_gui.state.store import Store, read_int, read_list

SCALES = (2, 3, 4)
OPENED_KEY = "models/opened"


@dataclass(frozen=True)
class ModelEntry:
    label: str
    path: str


class ModelList:
    """Bundled models and the files the user added, by scale; the added ones are remembered."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.user: dict[str, str] = {}  # path -> label
        for path in read_list(store, OPENED_KEY):
            if Path(path).is_file():
                self.user[path] = Path(path).name

    def add(self, path: Path | str, label: str) -> None:
        self.user[str(path)] = label
        self.store.setValue(OPENED_KEY, list(self.user))

    def entries(self, scale: int) -> list[ModelEntry]:
        """The bundled models of ``scale``, then every added model (their scale is checked on use)."""
        bundled = [ModelEntry(f"{name} (bundled)", str(path)) for name, path in bundled_models().items()
                   if name.endswith(f"-x{scale}")]
        return bundled + [ModelEntry(label, path) for path, label in self.user.items()]


@dataclass(frozen=True)
class RunOptions:
    """How an upscale runs: the x8 ensemble, the precision, a memory budget or a tile size, and
    the JPEG/WebP quality Save uses; remembered between launches."""

    ensemble: bool = False
    precision: str = "auto"  # auto (fp16 on CUDA, fp32 elsewhere), fp32, bf16, fp16
    memory_gib: float | None = None  # None: whole image whenever it fits half the free memory
    tile: int | None = None  # tiles of at most tile x tile LR pixels
    quality: int = 95
    rounds: int | None = None  # hash rounds of the sparse attention (None: the model's own)

    def budget(self) -> int | None:
        return None if self.memory_gib is None else int(self.memory_gib * 2**30)

    def text(self) -> str:
        """What differs from the defaults, for the status line ('' when nothing)."""
        parts = ["x8 ensemble"] if self.ensemble else []
        if self.rounds:
            parts.append(f"{self.rounds} hash round{'s' if self.rounds != 1 else ''}")
        if self.precision != "auto":
            parts.append(self.precision)
        if self.tile:
            parts.append(f"tiles of {self.tile} px")
        elif self.memory_gib:
            parts.append(f"{self.memory_gib:g} GiB")
        return ", ".join(parts)

    @classmethod
    def restore(cls, store: Store) -> "RunOptions":
        try:
            memory, tile = store.value("upscale/memory_gib", ""), store.value("upscale/tile", "")
            rounds = store.value("upscale/rounds", "")
            precision = str(store.value("upscale/precision", "auto"))
            return cls(ensemble=str(store.value("upscale/ensemble", "false")).lower() == "true",
                       precision=precision if precision in ("auto", "fp32", "bf16", "fp16") else "auto",
                       memory_gib=float(memory) if memory not in (None, "") else None,
                       tile=int(tile) if tile not in (None, "") else None,
                       quality=min(100, max(1, read_int(store, "files/quality", 95))),
                       rounds=int(rounds) if rounds not in (None, "") and int(rounds) >= 1 else None)
        except (TypeError, ValueError):
            return cls()

    def save(self, store: Store) -> None:
        store.setValue("upscale/ensemble", "true" if self.ensemble else "false")
        store.setValue("upscale/precision", self.precision)
        store.setValue("upscale/memory_gib", "" if self.memory_gib is None else self.memory_gib)
        store.setValue("upscale/tile", "" if self.tile is None else self.tile)
        store.setValue("files/quality", self.quality)
        store.setValue("upscale/rounds", "" if self.rounds is None else self.rounds)


@dataclass(frozen=True)
class OutputTarget:
    """What Save writes: a factor (e.g. 1.5) or a width and/or height; NLSN runs at the nearest
    scale at or above and the MATLAB bicubic takes its result there."""

    factor: float | None = None
    width: int | None = None
    height: int | None = None

    def plan(self, width: int, height: int) -> OutputSize:
        return plan_output(width, height, factor=self.factor, target_width=self.width, target_height=self.height)

    def text(self) -> str:
        if self.factor is not None:
            return f"×{self.factor:g}"
        return " × ".join(f"{v} px {k}" for k, v in (("wide", self.width), ("high", self.height)) if v)

    @classmethod
    def restore(cls, store: Store) -> "OutputTarget | None":
        try:
            factor, width, height = (store.value(f"upscale/output_{k}") for k in ("factor", "width", "height"))
            target = cls(float(factor) if factor not in (None, "") else None,
                         int(width) if width not in (None, "") else None,
                         int(height) if height not in (None, "") else None)
        except (TypeError, ValueError):
            return None
        return target if (target.factor or target.width or target.height) else None

    @staticmethod
    def save(store: Store, target: "OutputTarget | None") -> None:
        for key in ("factor", "width", "height"):
            value = getattr(target, key) if target is not None else None
            store.setValue(f"upscale/output_{key}", "" if value is None else value)


@dataclass
class UpscaleChoices:
    """The toolbar's choices, remembered between launches."""

    mode: str = "upscale"
    scale: int = 2
    device: str = "cpu"
    seed: int = 0
    model: str | None = None  # path of the chosen model

    @classmethod
    def restore(cls, store: Store, *, devices: list[str]) -> "UpscaleChoices":
        mode = str(store.value("upscale/mode", "upscale"))
        scale = read_int(store, "upscale/scale", 2)
        device = str(store.value("upscale/device", devices[0]))
        return cls(mode=mode if mode in MODES else "upscale", scale=scale if scale in SCALES else 2,
                   device=device if device in devices else devices[0], seed=read_int(store, "upscale/seed", 0))

    def save(self, store: Store) -> None:
        store.setValue("upscale/mode", self.mode)
        store.setValue("upscale/scale", self.scale)
        store.setValue("upscale/device", self.device)
        store.setValue("upscale/seed", self.seed)


@dataclass(frozen=True)
class Selection:
    """What the window has chosen and shows, as a panel or a job needs it."""

    document: Document | None
    mode: str
    scale: int
    device: str
    device_label: str
    seed: int
    model: str | None  # a model file, or None when no model of the scale is chosen
    model_label: str
    rounds: int | None = None  # hash rounds (None: the model's own)

    def no_model_message(self) -> str:
        return f"no x{self.scale} model is selected: open one with Model > Open Model… (Ctrl+M)"
