"""Files the program ships: bundled models, sample images the project drew itself, icons."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
MODELS_DIR = ROOT / "models"
SAMPLES_DIR = ROOT / "samples"
ICONS_DIR = ROOT / "icons"
CHECKOUT = ROOT.parent  # the project folder (a source checkout, an installation or a bundle)
