"""``python -m rnamsm``: the entry point the workflow rules call."""

import sys

from rnamsm.cli import main

sys.exit(main())
