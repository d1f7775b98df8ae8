"""``python -m safesim`` is the ``safesim`` command."""

import sys

from safesim.cli import main

sys.exit(main())
