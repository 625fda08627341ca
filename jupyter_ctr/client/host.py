"""Where the engine is: in this process, or behind the service's socket (remote mode).

Like podman's ``--remote``/``--url``, in this order:

1. ``--url unix:///PATH`` (CLI) names the service's socket: remote;
2. ``--remote`` (CLI): remote, at ``$JUPYTER_CTR_HOST`` or the default socket;
3. an explicit ``--root``/``--runroot``: in process (those are the engine's own roots);
4. ``$JUPYTER_CTR_HOST=unix:///PATH``: remote;
5. automatically: the engine's root is not writable by this process (a student's server
   or kernel on a shared machine) and the default socket exists: remote;
6. otherwise in process.

``CONTAINER_HOST`` is not read: it is podman's, and a user who points podman at a socket
does not mean jupyter-ctr. Only unix sockets are served (no ssh or tcp).
"""

from __future__ import annotations

import os

from ..engine.errors import InvalidArgumentError
from ..engine.settings import default_root

#: The service's socket when nothing else names one (``jupyter-ctr service --socket``).
DEFAULT_SOCKET = "/run/jupyter-ctr/service.sock"
#: The environment variable naming the service (``unix:///PATH``).
HOST_ENV = "JUPYTER_CTR_HOST"


def socket_path(url: str) -> str:
    """The socket path of ``unix:///PATH`` (or of a bare absolute path)."""
    if url.startswith("unix://"):
        path = url[len("unix://"):]
    elif url.startswith("/"):
        path = url
    else:
        raise InvalidArgumentError(f"invalid service URL {url!r}: use unix:///PATH (only unix "
                                   "sockets are supported)")
    if not path.startswith("/"):
        raise InvalidArgumentError(f"invalid service URL {url!r}: the socket path must be "
                                   "absolute (unix:///run/jupyter-ctr/service.sock)")
    return path


def writable(root: str) -> bool:
    """Whether this process could keep an engine at ``root`` (it, or the nearest existing
    parent it would be made in, is writable)."""
    path = os.path.abspath(root)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.access(path, os.W_OK)


def remote_socket(*, remote: bool = False, url: str | None = None,
                  explicit_roots: bool = False,
                  environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """The service socket to use, or None for the engine in this process (rules above)."""
    env = os.environ if environ is None else environ
    if url:
        return socket_path(url)
    host = env.get(HOST_ENV) or ""
    if remote:
        return socket_path(host) if host else DEFAULT_SOCKET
    if explicit_roots:
        return None
    if host:
        return socket_path(host)
    if not writable(default_root()) and os.path.exists(DEFAULT_SOCKET):
        return DEFAULT_SOCKET
    return None
