"""ContainerService (service/container_service.py) on the real engine: lookups by name, ID
and prefix, list filters, the Policy hook (a refusal is a clear error with no side effect),
create through a translation, and the events a service call records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

import pytest

from jupyter_ctr.engine import (
    ContainerState,
    InvalidArgumentError,
    NoSuchContainerError,
    Runtime,
)
from jupyter_ctr.service.container_service import ContainerService
from jupyter_ctr.service.policy import NotAuthorizedError, Policy
from jupyter_ctr.service.principal import Principal

from ..conftest import DEMO

T = TypeVar("T")

ALICE = Principal(uid=1000, gids=(1000,), pid=1, name="alice")


class Refuse(Policy):
    """Refuses ``actions`` (on containers named in ``names``, or on anything if None)."""

    def __init__(self, actions: set[str], names: set[str] | None = None) -> None:
        self.actions = actions
        self.names = names
        self.asked: list[tuple[str, str, object]] = []

    def authorize(self, principal: Principal, action: str, target: object) -> None:
        self.asked.append((principal.name, action, target))
        name = getattr(target, "name", None)
        if action in self.actions and (self.names is None or name in self.names):
            raise NotAuthorizedError(f"{principal.name} may not {action} {name}: rule "
                                     f"'no-{action}'")


def run(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """One service call on a fresh event loop (the service's pools outlive it)."""
    return asyncio.run(call())


@pytest.fixture
def service(rt: Runtime):  # type: ignore[no-untyped-def]
    svc = ContainerService(rt)
    yield svc
    svc.pools.close()  # the runtime is the rt fixture's to close


def plain(kwargs: Mapping[str, Any]) -> Callable[[Mapping[str, Any]],
                                                 tuple[dict[str, Any], list[str]]]:
    """A translation that ignores the image's config (as a test needs)."""
    return lambda image_config: (dict(kwargs), [])


def test_lookup_by_name_id_and_prefix(service: ContainerService, rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"], name="svc-lookup")
    for ref in ("svc-lookup", ctr.id, ctr.id[:12], ctr.id[:5]):
        assert run(lambda r=ref: service.lookup(ALICE, r)).id == ctr.id
    with pytest.raises(NoSuchContainerError):
        run(lambda: service.lookup(ALICE, "svc-nosuch"))
    assert run(lambda: service.inspect(ALICE, "svc-lookup"))["Name"] == "svc-lookup"


def test_list_filters(service: ContainerService, rt: Runtime) -> None:
    a = rt.create_container(DEMO, ["true"], name="svc-a", labels={"team": "x"})
    b = rt.create_container(DEMO, ["true"], name="svc-b", labels={"team": "y", "tier": "1"})
    c = rt.create_container(DEMO, ["true"], name="other-c")

    def names(**kw: Any) -> list[str]:
        return [snap.name for snap in run(lambda: service.list_containers(ALICE, **kw))]

    assert names() == []  # running ones only: none runs
    assert names(all=True) == ["other-c", "svc-b", "svc-a"]  # newest first
    assert names(all=True, filters={"name": ["^svc-"]}) == ["svc-b", "svc-a"]
    assert names(all=True, filters={"label": ["team=x"]}) == ["svc-a"]
    assert names(all=True, filters={"label": ["tier"]}) == ["svc-b"]
    assert names(all=True, filters={"id": [a.id[:10], c.id]}) == ["other-c", "svc-a"]
    assert names(filters={"status": ["created"]}) == ["other-c", "svc-b", "svc-a"]
    assert names(filters={"status": ["configured"], "name": ["svc"]}) == ["svc-b", "svc-a"]
    assert names(filters={"status": ["running"]}) == []
    assert names(all=True, filters={"ancestor": ["busybox"]}) == ["other-c", "svc-b", "svc-a"]
    assert names(all=True, filters={"exited": ["0"]}) == []
    assert names(all=True, filters={"name": []}) == ["other-c", "svc-b", "svc-a"]
    assert names(limit=2) == ["other-c", "svc-b"]  # a limit lists stopped ones too
    snaps = run(lambda: service.list_containers(ALICE, all=True))
    assert [snap.id for snap in snaps] == [c.id, b.id, a.id]
    with pytest.raises(InvalidArgumentError, match="invalid filter 'bogus'"):
        run(lambda: service.list_containers(ALICE, all=True,
                                                     filters={"bogus": ["x"]}))


def test_a_refusing_policy_is_a_clear_error_with_no_side_effect(rt: Runtime) -> None:
    policy = Refuse({"start", "create", "remove", "list"}, names={"svc-kept", None})
    service = ContainerService(rt, policy=policy)
    try:
        ctr = rt.create_container(DEMO, ["sleep", "100"], name="svc-kept")
        with pytest.raises(NotAuthorizedError, match="alice may not start svc-kept: rule"):
            run(lambda: service.act(ALICE, "svc-kept", "start"))
        assert rt.lookup_container(ctr.id).state is ContainerState.CONFIGURED
        with pytest.raises(NotAuthorizedError, match="rule 'no-remove'"):
            run(lambda: service.remove(ALICE, ctr.id, force=True))
        assert rt.lookup_container(ctr.id).name == "svc-kept"
        before = {c.id for c in rt.list_containers(all=True)}
        with pytest.raises(NotAuthorizedError, match="may not create"):
            run(lambda: service.create(
                ALICE, DEMO, plain({"image": DEMO, "command": ["true"], "name": "svc-new"})))
        assert {c.id for c in rt.list_containers(all=True)} == before
        # a container the policy does not let one list is left out, others are shown
        other = rt.create_container(DEMO, ["true"], name="svc-shown")
        listed = run(lambda: service.list_containers(ALICE, all=True))
        assert [snap.id for snap in listed] == [other.id]
        # the hook saw the principal, the action and the engine object
        assert ("alice", "start", ) == policy.asked[0][:2]
        assert policy.asked[0][2].id == ctr.id  # type: ignore[attr-defined]
    finally:
        service.pools.close()


def test_create_through_a_translation_and_the_generic_verbs(service: ContainerService,
                                                            rt: Runtime) -> None:
    seen: list[Mapping[str, Any]] = []

    def translate(image_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        seen.append(image_config)
        return {"image": DEMO, "command": None, "name": "svc-made"}, ["a warning"]

    ctr, warnings = run(lambda: service.create(ALICE, DEMO, translate))
    assert warnings == ["a warning"] and ctr.name == "svc-made"
    assert seen == [rt.get_image(DEMO).config]
    run(lambda: service.act(ALICE, ctr.id[:12], "init"))
    assert rt.lookup_container(ctr.id).state is ContainerState.CREATED
    with pytest.raises(InvalidArgumentError, match="unknown container verb 'explode'"):
        run(lambda: service.act(ALICE, ctr.id, "explode"))
    assert run(lambda: service.should_restart(ALICE, "svc-made")) is False
    removed = run(lambda: service.remove(ALICE, "svc-made", force=True))
    assert removed.id == ctr.id
    with pytest.raises(NoSuchContainerError):
        rt.lookup_container(ctr.id)
