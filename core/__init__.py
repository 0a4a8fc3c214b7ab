"""NLSN core: PyTorch and NumPy only, never Qt.

Layers, each importing only those below it: ``cli``; ``train``; ``eval``, ``inspection``, ``data``;
``inference``; ``checkpoints``; ``network``; ``attention``; ``image``, ``metrics``; ``base`` (and
``reference``, for tests and benchmarks only). The contracts are in ``pyproject.toml``.
"""

__version__ = "0.1.0"
