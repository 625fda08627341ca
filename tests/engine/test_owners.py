"""Owners (issue 13): every container records who created it, every event who acted, and an
``acting_as`` view with an owner scope sees only that owner's containers, exec sessions and
events: another's answers exactly as a missing one."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jupyter_ctr.engine import ContainerRemovedError, NoSuchContainerError, Runtime
from jupyter_ctr.engine.errors import NoSuchExecSessionError
from jupyter_ctr.engine.records import ContainerConfig
from tests.conftest import DEMO

ALICE, BOB = (42001, "alice-t"), (42002, "bob-t")


def as_user(rt: Runtime, user: tuple[int, str], scoped: bool = True) -> Runtime:
    return rt.acting_as(*user, owner_scope=user[0] if scoped else None)


def test_the_creator_owns_the_container_and_inspect_shows_it(rt: Runtime) -> None:
    mine = rt.create_container(DEMO, ["true"], name="own-root")
    assert rt.actor == (0, "root")
    assert (mine.config.owner_uid, mine.config.owner_name) == (0, "root")
    assert mine.inspect()["Owner"] == {"Uid": 0, "Name": "root"}
    alices = as_user(rt, ALICE).create_container(DEMO, ["true"], name="own-alice")
    # persisted: a fresh lookup through the plain runtime reads it back
    again = rt.lookup_container("own-alice")
    assert again.inspect()["Owner"] == {"Uid": ALICE[0], "Name": ALICE[1]}
    assert again.id == alices.id


def test_records_of_an_older_engine_are_roots() -> None:
    stored = ContainerConfig(
        id="a" * 64, name="old", image="img", image_id="sha256:" + "b" * 64,
        image_rootfs="/x", command=("true",), env=(), workdir="/", uid=0, gid=0,
        stop_signal=15, stop_timeout=10, network="none", created=1).to_dict()
    del stored["owner_uid"], stored["owner_name"]
    cfg = ContainerConfig.from_dict(stored).validate()
    assert (cfg.owner_uid, cfg.owner_name) == (0, "root")
    with pytest.raises(Exception, match="owner_uid"):
        cfg.replace(owner_uid=-1).validate()


def test_events_name_the_actor_and_filter_by_user(rt: Runtime) -> None:
    since = time.time()
    alice = as_user(rt, ALICE, scoped=False)
    ctr = alice.create_container(DEMO, ["sleep", "100"], name="ev-owner")
    ctr.start()
    rt.lookup_container("ev-owner").kill()  # root acts on alice's container
    events = [(e.action, e.attributes["user"], e.attributes["uid"], e.attributes["owner_uid"])
              for e in rt.events(since=since, filters={"container": ["ev-owner"]})
              if e.action in ("create", "start", "kill")]
    assert events == [("create", ALICE[1], str(ALICE[0]), str(ALICE[0])),
                      ("start", ALICE[1], str(ALICE[0]), str(ALICE[0])),
                      ("kill", "root", "0", str(ALICE[0]))]
    by_alice = {e.action for e in rt.events(since=since, filters={"user": [ALICE[1]]})}
    assert {"create", "start"} <= by_alice and "kill" not in by_alice
    assert {e.action for e in rt.events(since=since, filters={"user": [str(ALICE[0])]})} \
        == by_alice


def test_the_exit_is_conmons_and_its_owner_sees_it(rt: Runtime) -> None:
    """conmon's exit command (root) records the exit, its cleanup and an --rm removal as
    the engine's ("conmon"), not as root's: the owner sees them (owner_uid), a filter on
    root or on the owner does not count them as theirs."""
    since = time.time()
    alice = as_user(rt, ALICE)
    ctr = alice.create_container(DEMO, ["sleep", "100"], name="ev-exit", auto_remove=True)
    ctr.start()
    # Killed behind the engine's back: nothing here syncs the container afterwards, so
    # the exit command is what finds the exit.
    os.kill(ctr.observe().record.pid, signal.SIGKILL)
    removed = next(iter(alice.events(since=since, until=time.time() + 60, follow=True,
                                     filters={"container": [ctr.id], "event": ["remove"]})))
    assert removed.attributes["user"] == "conmon"
    exit_events = {e.action: e.attributes for e in alice.events(
        since=since, filters={"container": [ctr.id]})
        if e.action in ("died", "cleanup", "remove")}
    assert set(exit_events) == {"died", "cleanup", "remove"}
    for attrs in exit_events.values():
        assert (attrs["user"], attrs["uid"], attrs["owner_uid"]) == \
            ("conmon", "0", str(ALICE[0]))
    assert exit_events["died"]["exitCode"] == "137"
    by_alice = {e.action for e in rt.events(since=since, filters={"user": [ALICE[1]]})}
    assert {"create", "start"} <= by_alice and not by_alice & set(exit_events)
    assert not [e for e in rt.events(since=since, filters={"user": ["root"]})
                if e.id == ctr.id]
    assert not [e for e in as_user(rt, BOB).events(since=since) if e.id == ctr.id]


def test_a_scoped_view_sees_only_its_owners_containers(rt: Runtime) -> None:
    since = time.time()
    alice, bob = as_user(rt, ALICE), as_user(rt, BOB)
    theirs = bob.create_container(DEMO, ["sleep", "100"], name="bobs-box")
    theirs.start()
    session = theirs.exec(["true"])
    mine = alice.create_container(DEMO, ["true"], name="alices-box")

    def missing(ref: str) -> str:
        with pytest.raises(NoSuchContainerError) as info:
            alice.lookup_container(ref)
        return str(info.value)

    for ref in ("bobs-box", theirs.id, theirs.id[:12], theirs.id[:5]):
        assert missing(ref) == f"no container with name or ID {ref!r} found"
    assert alice.lookup_container(mine.id[:12]).id == mine.id
    assert [c.id for c in alice.list_containers(all=True)] == [mine.id]
    assert theirs.id in [c.id for c in rt.list_containers(all=True)]  # unscoped: all
    with pytest.raises(NoSuchExecSessionError) as info:
        alice.lookup_exec(session.id)
    assert str(info.value) == f"no exec session with ID {session.id} found"
    assert bob.lookup_exec(session.id).id == session.id
    seen = {e.id for e in alice.events(since=since)}
    assert seen == {mine.id}
    assert theirs.id in {e.id for e in bob.events(since=since)}
    assert not alice.sees(theirs.config) and bob.sees(theirs.config)


def test_an_id_prefix_is_unique_among_the_owners_containers(rt: Runtime) -> None:
    alice, bob = as_user(rt, ALICE), as_user(rt, BOB)
    # find a one-digit prefix shared by a container of each
    mine = [alice.create_container(DEMO, ["true"]) for _ in range(3)]
    firsts = {m.id[0] for m in mine}
    theirs = []
    for _ in range(64):  # each one shares a first digit with mine with odds >= 3/16
        theirs.append(bob.create_container(DEMO, ["true"]))
        if theirs[-1].id[0] in firsts:
            break
    shared = next(m for m in mine if m.id[0] == theirs[-1].id[0])
    if sum(m.id[0] == shared.id[0] for m in mine) == 1:
        assert alice.lookup_container(shared.id[0]).id == shared.id  # bob's don't count
    with pytest.raises(NoSuchContainerError, match="more than one"):
        rt.lookup_container(shared.id[0])


def test_container_handles_are_the_views_containers_unsynced(rt: Runtime) -> None:
    alices = as_user(rt, ALICE).create_container(DEMO, ["true"], name="own-handle-a")
    bobs = as_user(rt, BOB).create_container(DEMO, ["true"], name="own-handle-b")
    assert [c.id for c in as_user(rt, ALICE).container_handles()] == [alices.id]
    assert {alices.id, bobs.id} <= {c.id for c in rt.container_handles()}
    (handle,) = as_user(rt, BOB).container_handles()
    rt.remove_container(bobs)
    with pytest.raises(ContainerRemovedError):  # not synced when listed: its first verb says
        handle.observe()
