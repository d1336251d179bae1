"""``python -m repgeom_lite`` is the ``repgeom`` command."""

import sys

from .cli import main

sys.exit(main())
