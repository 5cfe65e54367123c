"""``python -m api.cli``: the ``tether`` command."""

import sys

from api.cli import main

if __name__ == "__main__":  # importing it (pkgutil.walk_packages does) runs nothing
    sys.exit(main())
