"""Importing the training engine's heavy parts ahead of time, for an interactive caller."""

from __future__ import annotations

import threading

import torch


_WARM = threading.Event()
_WARM_LOCK = threading.Lock()
_WARM_STARTED = False


def warm_up() -> threading.Event:
    """Import the training engine's heavy parts on a background thread, once; returns an event set when done.

    For an interactive caller (the GUI), whose UI thread must not stall while a run starts: the
    first optimiser pulls in ``torch._dynamo`` (about a second of imports whose C parts hold the
    GIL for up to ~100 ms at a time), and TensorBoard's writer is not light either. Afterwards
    everything alive is frozen out of the cyclic garbage collector (``gc.freeze``): a full
    collection walking torch's millions of objects holds the GIL for 100-200 ms.
    """
    global _WARM_STARTED
    with _WARM_LOCK:
        if _WARM_STARTED:
            return _WARM
        _WARM_STARTED = True

    def work() -> None:
        import gc

        collecting = gc.isenabled()
        gc.disable()  # importing makes many objects: no full collections meanwhile
        try:
            import importlib

            for name in ("core.data", "core.eval.protocol"):
                importlib.import_module(name)

            torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-4)
            try:
                importlib.import_module("torch.utils.tensorboard")
            except ImportError:
                pass
        except Exception:  # noqa: BLE001 - only a warm-up: a run reports real problems itself
            pass
        finally:
            gc.freeze()  # what exists now lives as long as the process
            if collecting:
                gc.enable()
            _WARM.set()

    threading.Thread(target=work, name="nlsn-train-warm-up", daemon=True).start()
    return _WARM
