"""``python -m clsmap.cli``."""

import sys

from . import main

sys.exit(main())
