"""``jupyter-ctr``: a command line shaped like podman's, on the engine.

Commands and flags carry podman's names so that podman habits work. Engine errors print as
``Error: <message>`` and exit 125, podman's code for "the engine failed"; ``run`` and
``start -a`` exit with the container's own code.

Start-up matters (scripts run many short commands, each a process): importing this package
loads the entry point and the parser only; ``main()`` builds the parser of the one command
given and imports that command's module of ``commands/`` when it runs.
"""

from .entry import main

__all__ = ["main"]
