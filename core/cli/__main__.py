"""``python -m core.cli`` (also under ``torchrun -m core.cli train ...``)."""

import sys

from core.cli import main

sys.exit(main())
