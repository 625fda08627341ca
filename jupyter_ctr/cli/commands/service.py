"""service: the REST API on a unix socket (jupyter_server and tornado load only here)."""

from __future__ import annotations

from ...server.socket_service import ServiceSettings, serve

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...service.door import Door


def cmd_service(door: Door, args: argparse.Namespace) -> int:
    settings = ServiceSettings(socket_group=args.socket_group,
                               instructor_group=args.instructor_group,
                               multi_user=args.multi_user)
    return serve(args.socket, door.runtime, settings)
