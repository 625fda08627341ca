"""``python -m jupyter_ctr.cli``: the ``jupyter-ctr`` command."""

import sys

from jupyter_ctr.cli import main

if __name__ == "__main__":
    sys.exit(main())
