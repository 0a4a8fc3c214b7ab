"""NLSN core: sparse attention, network, checkpoints, image I/O, metrics, inference.

PyTorch and NumPy only: nothing in this package imports Qt.
"""

__version__ = "0.1.0"
