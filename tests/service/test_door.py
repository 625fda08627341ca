"""Door (service/door.py) under the OwnershipPolicy: a student's door finds, lists and follows
their own containers only (another's answers as a missing one), what it creates is theirs,
the instructor's door sees all and filters by owner; the default policy changes nothing."""

from __future__ import annotations

import time

import pytest

from jupyter_ctr.engine import ContainerExistsError, NoSuchContainerError, Runtime
from jupyter_ctr.engine.errors import NoSuchExecSessionError
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.policy import OwnershipPolicy
from jupyter_ctr.service.principal import INSTRUCTOR, Principal

from ..conftest import DEMO

ANN = Principal(uid=43001, gids=(43001,), pid=1, name="ann-t")
BEN = Principal(uid=43002, gids=(43002,), pid=2, name="ben-t")
TEACH = Principal(uid=43003, gids=(43003,), pid=3, name="teach-t",
                  roles=frozenset({INSTRUCTOR}))


def door(rt: Runtime, who: Principal) -> Door:
    return Door(rt, who, OwnershipPolicy())


def test_students_see_and_act_on_their_own_containers_only(rt: Runtime) -> None:
    since = time.time()
    ann, ben = door(rt, ANN), door(rt, BEN)
    hers = ann.create_container(DEMO, ["sleep", "100"], name="ann-box")
    hers.start()
    session = hers.exec(["true"])
    his = ben.create_container(DEMO, ["true"], name="ben-box")
    assert hers.inspect()["Owner"] == {"Uid": ANN.uid, "Name": ANN.name}
    for ref in ("ann-box", hers.id, hers.id[:12]):
        with pytest.raises(NoSuchContainerError) as info:
            ben.container(ref, "stop")
        assert str(info.value) == f"no container with name or ID {ref!r} found"
        with pytest.raises(NoSuchContainerError):
            ben.remove(ref, force=True)
    with pytest.raises(NoSuchContainerError, match=repr(hers.id)):
        ben.container(hers, "inspect")  # a Container found elsewhere: checked again
    with pytest.raises(NoSuchExecSessionError, match=f"no exec session with ID {session.id}"):
        ben.exec_session(session.id, "exec.inspect")
    assert ann.exec_session(session.id, "exec.inspect").id == session.id
    assert [s.id for s in ben.list_containers(all=True)] == [his.id]
    assert [c.id for c in ben.containers("stats", all=True)] == [his.id]
    assert ben.counts()["total"] == 1
    assert {e.id for e in ben.events(since=since)} == {his.id}
    assert {e.attributes["user"] for e in ann.events(since=since)} == {ANN.name}
    # the one thing a name reveals: it is taken (names are one namespace; see the README)
    with pytest.raises(ContainerExistsError) as taken:
        ben.create_container(DEMO, ["true"], name="ann-box")
    with pytest.raises(ContainerExistsError) as own:
        ben.create_container(DEMO, ["true"], name="ben-box")
    assert str(taken.value).replace("ann-box", "X") == str(own.value).replace("ben-box", "X")
    # depends_on is a lookup too
    with pytest.raises(NoSuchContainerError):
        ben.create_container(DEMO, ["true"], depends_on=["ann-box"])


def test_the_instructor_sees_all_and_filters_by_owner(rt: Runtime) -> None:
    since = time.time()
    hers = door(rt, ANN).create_container(DEMO, ["true"], name="ann-box2")
    his = door(rt, BEN).create_container(DEMO, ["true"], name="ben-box2")
    teach = door(rt, TEACH)
    listed = {s.id for s in teach.list_containers(all=True)}
    assert {hers.id, his.id} <= listed
    assert [s.id for s in teach.list_containers(all=True, filters={"owner": [ANN.name]})] \
        == [hers.id]
    assert [s.id for s in teach.list_containers(all=True,
                                                filters={"owner": [str(BEN.uid)]})] == [his.id]
    teach.remove("ann-box2")  # acts on a student's container
    removed = [e for e in teach.events(since=since, filters={"event": ["remove"]})]
    assert [(e.id, e.attributes["user"], e.attributes["owner_uid"]) for e in removed] == [
        (hers.id, TEACH.name, str(ANN.uid))]
    assert [e.action for e in teach.events(since=since, filters={"user": [ANN.name]})] == [
        "create"]


def test_the_default_policy_sees_everything_and_acts_as_the_principal(rt: Runtime) -> None:
    hers = door(rt, ANN).create_container(DEMO, ["true"], name="ann-box3")
    local = Door(rt, BEN)  # allow-all: the CLI, a kernel, the single-user server
    assert local.container("ann-box3", "inspect").id == hers.id
    mine = local.create_container(DEMO, ["true"])
    assert (mine.config.owner_uid, mine.config.owner_name) == (BEN.uid, BEN.name)


def test_a_list_without_all_shows_running_and_paused_containers(rt: Runtime) -> None:
    ann = door(rt, ANN)
    up = ann.create_container(DEMO, ["sleep", "100"], name="ann-up")
    up.start()
    held = ann.create_container(DEMO, ["sleep", "100"], name="ann-held")
    held.start()
    held.pause()
    ann.create_container(DEMO, ["true"], name="ann-created")
    assert [s.id for s in ann.list_containers()] == [held.id, up.id]  # newest first
    assert len(ann.list_containers(all=True)) == 3
    assert [s.id for s in ann.list_containers(filters={"status": ["created"]})] != []


def test_stats_of_many_lock_nothing_and_keep_to_the_policy(
        rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_ctr.engine.locks import ContainerLock

    ann = Principal(uid=43021, gids=(43021,), pid=1, name="ann-s")
    teach = Principal(uid=43022, gids=(43022,), pid=2, name="teach-s",
                      roles=frozenset({INSTRUCTOR}))
    ann_door, teach_door = Door(rt, ann, OwnershipPolicy()), Door(rt, teach, OwnershipPolicy())
    mine = ann_door.create_container(DEMO, ["sleep", "60"], name="ann-st")
    other = rt.create_container(DEMO, ["sleep", "60"], name="root-st")
    idle = ann_door.create_container(DEMO, ["true"], name="ann-idle")
    mine.start()
    other.start()
    locked: list[object] = []
    real = ContainerLock.acquire

    def spy(self: ContainerLock) -> None:
        locked.append(self.path)
        real(self)

    monkeypatch.setattr(ContainerLock, "acquire", spy)
    assert set(ann_door.stats()) == {mine.id}  # another's is left out, as a missing one
    assert set(teach_door.stats()) == {mine.id, other.id}
    assert set(teach_door.stats([other.id, idle.id])) == {other.id}
    assert set(rt.acting_as(ann.uid, ann.name, owner_scope=ann.uid).usage()) == {mine.id}
    assert locked == []
    monkeypatch.undo()
    other.stop(timeout=0)
    assert set(teach_door.stats()) == {mine.id}
    mine.stop(timeout=0)
    assert teach_door.stats() == {}
