"""jupyter_ctr: container lifecycle management for Jupyter, on runc, conmon and CRIU."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Jupyter server's hook: the ``jupyter_ctr`` ExtensionApp (imported only when asked)."""
    from .server.app import ContainersApp  # noqa: PLC0415 - lazy: the engine and CLI need no Jupyter

    return [{"module": "jupyter_ctr.server.app", "app": ContainersApp}]


jupyter_server_extension_points = _jupyter_server_extension_points


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_ctr``: the ``%ctr``/``%%ctr`` magics (jupyter_ctr.magics)."""
    from .magics import load_ipython_extension as load  # noqa: PLC0415 - lazy: the CLI imports this package; IPython only here

    load(ipython)  # type: ignore[arg-type]


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext jupyter_ctr``: drop the magics."""
    from .magics import unload_ipython_extension as unload  # noqa: PLC0415 - lazy: as above

    unload(ipython)  # type: ignore[arg-type]
