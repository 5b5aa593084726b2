"""``python -m desktop``: the same as the ``deskline`` command."""

import sys

from desktop.cli import main

sys.exit(main())
