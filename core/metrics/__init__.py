"""PSNR and SSIM exactly as the super-resolution literature measures them (NumPy only)."""

from core.metrics.quality import psnr, rgb_to_y, ssim

__all__ = ["psnr", "rgb_to_y", "ssim"]
