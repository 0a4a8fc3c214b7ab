"""Random training patches of the paper's recipe, and their prefetching thread.

The paper's recipe: random 48x48 LR patches with the matching HR patch,
augmented by random horizontal flips and 90-degree rotations. Sampling is a pure function of
``(seed, global sample index)``: a resumed or sharded run draws exactly the patches an
uninterrupted single-process run would, whatever the number of ranks.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import torch

from core.base.errors import DataError, NLSNError
from core.data.images import TrainImage


def _augment(array: np.ndarray, hflip: bool, vflip: bool, rot90: bool) -> np.ndarray:
    # The paper's augmentation: random horizontal flips and 90-degree rotations (8 dihedral forms).
    if hflip:
        array = array[:, ::-1]
    if vflip:
        array = array[::-1]
    if rot90:
        array = array.transpose(1, 0, 2)
    return array


def _to_unit_tensor(batch: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [0, 1], computed in NumPy.

    The Prefetcher calls this from its own thread. A torch op there would start a second OpenMP
    thread team, whose threads spin after every op and, on a 2-core machine, made each training
    step 10-50 % slower. NumPy's float32 division is the same correctly rounded x / 255.
    """
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)  # (B, 3, H, W)
    planar /= np.float32(255.0)
    return torch.from_numpy(planar)


class PatchSampler:
    """Aligned random (LR, HR) patches; sample ``g`` depends only on ``(seed, g)``."""

    def __init__(self, images: list[TrainImage], *, scale: int, patch: int = 48, augment: bool = True, seed: int = 0):
        if not images:
            raise DataError("no training images")
        small = [im.name for im in images if min(im.lr.shape[:2]) < patch]
        if small:
            raise DataError(f"{len(small)} image(s) are smaller than the {patch}px LR patch, e.g. {small[0]}")
        self.images = images
        self.scale = scale
        self.patch = patch
        self.augment = augment
        self.seed = seed

    def sample(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample number ``g``: (patch, patch, 3) LR and (s*patch, s*patch, 3) HR uint8 arrays."""
        rng = np.random.default_rng([self.seed, g])
        image = self.images[int(rng.integers(len(self.images)))]
        p, s = self.patch, self.scale
        h, w = image.lr.shape[:2]
        y, x = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        lr = image.lr[y : y + p, x : x + p]
        hr = image.hr[y * s : (y + p) * s, x * s : (x + p) * s]
        if self.augment:
            flips = rng.random(3) < 0.5
            lr, hr = (_augment(a, *flips) for a in (lr, hr))
        return np.ascontiguousarray(lr), np.ascontiguousarray(hr)

    def batch(self, step: int, *, batch_size: int, rank: int = 0, world_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's share of global batch ``step``: (B, 3, p, p) LR and (B, 3, sp, sp) HR in [0, 1]."""
        first = (step * world_size + rank) * batch_size
        pairs = [self.sample(first + j) for j in range(batch_size)]
        lr = np.stack([p[0] for p in pairs])  # (B, p, p, 3)
        hr = np.stack([p[1] for p in pairs])  # (B, sp, sp, 3)
        return _to_unit_tensor(lr), _to_unit_tensor(hr)


class Prefetcher:
    """Builds the next batches in a background thread while the network trains on the current one."""

    _DONE = object()

    def __init__(self, sampler: PatchSampler, *, start_step: int, batch_size: int, rank: int = 0,
                 world_size: int = 1, depth: int = 3):
        self._sampler = sampler
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._args = dict(batch_size=batch_size, rank=rank, world_size=world_size)
        self._thread = threading.Thread(target=self._work, args=(start_step,), name="nlsn-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, step: int) -> None:
        while not self._closed.is_set():
            try:
                item = (step, *self._sampler.batch(step, **self._args))
            except BaseException as err:  # noqa: BLE001 - handed to the training thread
                self._put(err)
                return
            if not self._put(item):
                return
            step += 1

    def next(self) -> tuple[int, torch.Tensor, torch.Tensor]:
        """(step, lr, hr) of the next step; re-raises an error of the worker thread."""
        while True:
            try:
                item = self._queue.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise NLSNError("the data loader stopped unexpectedly") from None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2.0)
