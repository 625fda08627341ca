"""jupyter_ctr: container lifecycle management for Jupyter, on runc, conmon and CRIU."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Jupyter server's hook: the ``jupyter_ctr`` ExtensionApp (imported only when asked)."""
    from .server.app import ContainersApp  # noqa: PLC0415 - lazy: the engine and CLI need no Jupyter

    return [{"module": "jupyter_ctr.server.app", "app": ContainersApp}]


jupyter_server_extension_points = _jupyter_server_extension_points
