"""Training data: images read and cached once, and the random patches a run draws from them."""

from core.data.images import TrainImage, load_training_images
from core.data.patches import PatchSampler, Prefetcher

__all__ = ["PatchSampler", "Prefetcher", "TrainImage", "load_training_images"]
