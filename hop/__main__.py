"""``python -m hop``: see ``hop/main.py``."""

import sys

from hop.main import main

sys.exit(main())
