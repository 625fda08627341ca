"""service: the REST API on a unix socket (jupyter_server and tornado load only here)."""

from __future__ import annotations

from ...server.socket_service import ServiceSettings, load_config, serve

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...service.door import Door


def cmd_service(door: Door, args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    settings = ServiceSettings(config=config)
    # the command line's options win over the file's
    for key in ("socket_group", "instructor_group"):
        if getattr(args, key):
            setattr(settings, key, getattr(args, key))
    if args.multi_user:
        settings.multi_user = True
    return serve(args.socket, door.runtime, settings)
