"""``python -m api.cli``: the ``tether`` command."""

import sys

from api.cli import main

sys.exit(main())
