"""Evaluation: the SR protocol on benchmark folders, and the comparison the app shows for one image."""

from core.eval.benchmark_sets import EvalPair, find_pairs
from core.eval.compare import Comparison, Scores, add_bicubic, add_result, prepare, simulate_lr
from core.eval.protocol import ImageScore, evaluate, super_resolve

__all__ = [
    "Comparison",
    "EvalPair",
    "ImageScore",
    "Scores",
    "add_bicubic",
    "add_result",
    "evaluate",
    "find_pairs",
    "prepare",
    "simulate_lr",
    "super_resolve",
]
