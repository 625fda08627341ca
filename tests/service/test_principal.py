"""Principal (service/principal.py): who a service call is for."""

from __future__ import annotations

import os

import pytest

from jupyter_ctr.service.principal import INSTRUCTOR, Principal


def test_of_process_is_this_processs_user() -> None:
    me = Principal.of_process("jupyter-user")
    assert (me.uid, me.pid, me.name) == (os.getuid(), os.getpid(), "jupyter-user")
    assert me.gids == tuple(os.getgroups())
    assert me.has_role(INSTRUCTOR) == (os.getuid() == 0)  # root sees and acts on all
    assert Principal.of_process().name == "root"  # the tests run as root


def test_principals_are_values() -> None:
    alice = Principal(uid=1000, gids=(1000,), pid=7, name="alice")
    assert alice == Principal(uid=1000, gids=(1000,), pid=7, name="alice")
    assert not alice.has_role(INSTRUCTOR) and hash(alice)
    with pytest.raises(AttributeError):
        alice.uid = 0  # type: ignore[misc]


def test_of_peer_names_the_user_and_finds_the_instructor_role() -> None:
    root = Principal.of_peer(0, 0, 123)
    assert (root.name, root.pid, root.has_role(INSTRUCTOR)) == ("root", 123, True)
    nobody = Principal.of_peer(65534, 65534, 5)
    assert nobody.name == "nobody" and not nobody.has_role(INSTRUCTOR)
    assert 65534 in nobody.gids
    assert Principal.of_peer(65534, 65534, 5, frozenset({65534})).has_role(INSTRUCTOR)
    stranger = Principal.of_peer(4242424, 4242424, 1)  # no passwd entry
    assert (stranger.name, stranger.gids) == ("4242424", (4242424,))


def test_with_client_keeps_an_address_only() -> None:
    """The client address a relaying server reports is recorded (events: ``client``), and
    only if it looks like an address: it is the caller's word, never a way in."""
    me = Principal(uid=1000, pid=42, name="alice")
    assert me.origin() == {"pid": "42"}
    for address in ("127.0.0.1", "::1", "fe80::1%eth0", "[2001:db8::1]"):
        found = me.with_client(address)
        assert found.client == address and found.origin() == {"pid": "42", "client": address}
        assert (found.uid, found.name, found.roles) == (me.uid, me.name, me.roles)
    for junk in (None, "", "a b", "x" * 65, "1.2.3.4\nuser=root", "<script>", "é"):
        assert me.with_client(junk) is me
