"""RemoteDoor: the Door (service/door.py) of a remote Runtime, so that the CLI, the magics and
the widgets run one code path whether the engine is in their process or behind the service.

The door that decides is the service's: it identifies the caller by the socket's peer
credentials and asks its policy before anything acts, so this side asks nothing (its Policy
allows all) and a refusal comes back as the service's exception. The methods that would
walk every container here (lists with filters, image use counts, events filters, counts)
are one request each; the rest are the Door's own, on the client Runtime.
"""

from __future__ import annotations

from ..service.door import Door
from ..service.principal import Principal
from .container import Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterator, Mapping

    from ..engine.events import Event
    from ..engine.images import Image
    from ..engine.records import ContainerSnapshot
    from .runtime import Runtime


class RemoteDoor(Door):
    """``Door(client.Runtime(url), Principal.of_process())`` with service-side lists."""

    def __init__(self, runtime: Runtime, principal: Principal | None = None) -> None:
        super().__init__(runtime, principal or Principal.of_process())  # type: ignore[arg-type]
        self.remote: Runtime = runtime

    def container(self, ref: str | Container, action: str) -> Container:  # type: ignore[override]
        """The container ``ref`` names (a Container of this client is taken as it is)."""
        return self.remote.lookup_container(ref)

    def containers(self, action: str, *, all: bool = False) -> list[Container]:  # type: ignore[override] # noqa: A002
        return self.remote.list_containers(all=all)

    def list_containers(self, *, all: bool = False,  # noqa: A002 - podman's flag
                        filters: Mapping[str, list[str]] | None = None,
                        limit: int | None = None) -> list[ContainerSnapshot]:
        return self.remote.list_snapshots(all=all, filters=filters, limit=limit)

    def list_images(self) -> tuple[list[Image], dict[str, int]]:
        return self.remote.list_images_with_counts()

    def events(self, *, since: float | None = None, until: float | None = None,
               filters: Mapping[str, list[str]] | None = None, follow: bool = False,
               stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[Event]:
        return self.remote.events(since=since, until=until, filters=filters, follow=follow,
                                  stop=stop)

    def counts(self) -> dict[str, int]:
        store = self.remote.info()["store"]
        ctrs = store["containerStore"]
        return {"total": ctrs["number"], "running": ctrs["running"], "paused": ctrs["paused"],
                "stopped": ctrs["stopped"], "images": store["imageStore"]["number"]}
