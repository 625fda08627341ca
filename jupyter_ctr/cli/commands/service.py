"""service: the REST API on a unix socket (jupyter_server and tornado load only here)."""

from __future__ import annotations

from ...server.socket_service import serve

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...engine import Runtime


def cmd_service(rt: Runtime, args: argparse.Namespace) -> int:
    return serve(args.socket, rt)
