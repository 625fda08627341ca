"""Labs: the containers that carry the label ``jupyter-ctr.lab=<lab>``, and the bulk actions
an instructor runs on all of them at once (``Door.lab_action``).

Each container is acted on by itself: its verb takes that container's lock only, in a small
thread pool, so twenty containers take about as long as the slowest few rather than twenty
times one; a container that fails is reported with the engine's message and never stops the
others.
"""

from __future__ import annotations

from ..engine.errors import ContainerRunningError, ContainerStoppedError, InvalidArgumentError
from ..engine.records import LAB_LABEL
from ..engine.state import ContainerState

TYPE_CHECKING = False  # not typing's: the CLI imports this module (start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from ..engine.container import Container

#: Bulk actions -> the per-container policy action each container is asked for.
LAB_ACTIONS = {"start": "start", "stop": "stop", "reset": "rewind", "remove": "remove"}
#: Most containers acted on at once (each verb is mostly waiting on runc, conmon or CRIU).
MAX_WORKERS = 8


def lab_of(ctr: Container) -> str | None:
    """The lab a container belongs to (its ``jupyter-ctr.lab`` label), if any."""
    return ctr.config.labels.get(LAB_LABEL) or None


def check_action(action: str, step: str | None) -> None:
    """Raise InvalidArgumentError for an unknown bulk action or a reset without a step."""
    if action not in LAB_ACTIONS:
        raise InvalidArgumentError(f"unknown lab action {action!r}: expected one of "
                                   f"{', '.join(LAB_ACTIONS)}")
    if action == "reset" and not step:
        raise InvalidArgumentError("lab reset needs the step to rewind to")


def act_on(ctr: Container, action: str, *, step: str | None = None,
           timeout: int | None = None) -> None:
    """Run one bulk ``action`` on one container: start (one already running is left so),
    stop (one already stopped or never started too), reset (rewind to ``step``), remove
    (forced: a running one is stopped first, with ``timeout``)."""
    if action == "start":
        try:
            ctr.start()
        except ContainerRunningError:
            pass  # podman start of a running container succeeds
    elif action == "stop":
        if ctr.state is ContainerState.CONFIGURED:
            return  # never started: nothing to stop (podman stop succeeds too)
        try:
            ctr.stop(timeout)
        except ContainerStoppedError:
            pass  # podman stop of a stopped container succeeds
    elif action == "reset":
        ctr.rewind(str(step))
    elif action == "remove":
        ctr.remove(force=True, timeout=timeout)
    else:
        check_action(action, step)


def result(ctr: Container, error: BaseException | None) -> dict[str, Any]:
    """One container's result: {"Id", "Name", "Owner", "Ok", "Error"}."""
    return {"Id": ctr.id, "Name": ctr.name, "Owner": ctr.config.owner_name,
            "Ok": error is None, "Error": "" if error is None else str(error) or repr(error)}


def run_each(ctrs: Sequence[Container], work: Callable[[Container], None],
             workers: int = MAX_WORKERS) -> list[dict[str, Any]]:
    """``work`` on every container in a pool of at most ``workers`` threads; one result per
    container, in the order given."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - lazy: the CLI's start-up loads this module

    def one(ctr: Container) -> dict[str, Any]:
        try:
            work(ctr)
        except Exception as exc:  # noqa: BLE001 - one container's failure is its result
            return result(ctr, exc)
        return result(ctr, None)

    if not ctrs:
        return []
    if len(ctrs) == 1:
        return [one(ctrs[0])]
    with ThreadPoolExecutor(min(workers, len(ctrs)), thread_name_prefix="ctr-lab") as pool:
        return list(pool.map(one, ctrs))


def summarize(ctrs: Iterable[Container]) -> list[dict[str, Any]]:
    """Labs by name: [{"Name", "Containers", "Running", "Owners"}] (owners sorted)."""
    labs: dict[str, dict[str, Any]] = {}
    for ctr in ctrs:
        lab = lab_of(ctr)
        if lab is None:
            continue
        entry = labs.setdefault(lab, {"Name": lab, "Containers": 0, "Running": 0,
                                      "Owners": set()})
        entry["Containers"] += 1
        try:
            running = ctr.state is ContainerState.RUNNING
        except Exception:  # noqa: BLE001 - removed meanwhile: counted, not running
            running = False
        entry["Running"] += int(running)
        entry["Owners"].add(ctr.config.owner_name)
    return [{**entry, "Owners": sorted(entry["Owners"])}
            for _, entry in sorted(labs.items())]
