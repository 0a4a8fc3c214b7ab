"""``python -m nlsn_gui [IMAGE]``."""
import sys

from nlsn_gui.app import main

sys.exit(main())
