"""``python -m orderkit``: the same as the ``orderkit`` command."""

import sys

from orderkit.cli import main

sys.exit(main())
