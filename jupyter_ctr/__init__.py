"""jupyter_ctr: container lifecycle management for Jupyter, on runc, conmon and CRIU."""

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .engine.runtime import Runtime

__all__ = ["Runtime", "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> object:
    """``from jupyter_ctr import Runtime``: the engine's Runtime, imported on first use (the CLI
    imports this package at every start). Inside IPython the engine's objects then display
    richly (jupyter_ctr.magics.display)."""
    if name != "Runtime":
        raise AttributeError(f"module 'jupyter_ctr' has no attribute {name!r}")
    from .engine.runtime import Runtime  # noqa: PLC0415 - lazy: CLI start-up

    _rich_display()
    return Runtime


def _rich_display() -> None:
    """Register the engine objects' HTML display with the running IPython, if any."""
    import sys  # noqa: PLC0415 - lazy: as above

    ipython_module = sys.modules.get("IPython")
    ip = ipython_module.get_ipython() if ipython_module is not None else None  # type: ignore[attr-defined]
    if ip is not None:
        from .magics import display  # noqa: PLC0415 - lazy: IPython only here

        display.register(ip)


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
