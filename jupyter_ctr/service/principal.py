"""Principal: who a service call is made for. Every ContainerService method takes one, and
the Policy decides what it may do. The unix socket service makes one per request from the
peer's credentials (``of_peer``); the CLI, the kernel and the Jupyter server extension act as
their own process's user (``of_process``)."""

from __future__ import annotations

import os
import pwd
import re

#: The role that may see and act on every container (root has it).
INSTRUCTOR = "instructor"
#: A client address as recorded (an IPv4/IPv6 address, a unix socket's name): nothing else.
_CLIENT = re.compile(r"[0-9A-Za-z.:%\[\]_-]{1,64}")


class Principal:
    """A caller: Unix identity (uid, gids, pid of the process that asked), a display name,
    roles, and where the request came from beyond that process (``client``: a browser's
    address, as the Jupyter server that took the request saw it). Immutable. (A plain
    class, not a dataclass: the CLI makes one per command.)"""

    __slots__ = ("uid", "gids", "pid", "name", "roles", "client")

    uid: int
    gids: tuple[int, ...]
    pid: int
    name: str
    roles: frozenset[str]
    client: str

    def __init__(self, uid: int, gids: tuple[int, ...] = (), pid: int = 0, name: str = "",
                 roles: frozenset[str] = frozenset(), client: str = "") -> None:
        for key, value in (("uid", uid), ("gids", tuple(gids)), ("pid", pid), ("name", name),
                           ("roles", frozenset(roles)), ("client", client)):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Principal is immutable: cannot set {key!r}")

    def _key(self) -> tuple[object, ...]:
        return (self.uid, self.gids, self.pid, self.name, self.roles, self.client)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Principal) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Principal(uid={self.uid}, gids={self.gids}, pid={self.pid}, "
                f"name={self.name!r}, roles={set(self.roles) or '{}'}"
                + (f", client={self.client!r})" if self.client else ")"))

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def with_client(self, client: str | None) -> Principal:
        """This caller, with the address its request came from (kept only if it looks like
        one: it is what the caller's server reports, recorded, never trusted)."""
        client = client or ""
        if not _CLIENT.fullmatch(client) or client == self.client:
            return self
        return Principal(self.uid, self.gids, self.pid, self.name, self.roles, client)

    def origin(self) -> dict[str, str]:
        """Where an action came from, for the events journal: ``pid`` (the calling process,
        as the kernel reported it on the socket, or this process), and ``client`` if known."""
        found = {"pid": str(self.pid)} if self.pid else {}
        if self.client:
            found["client"] = self.client
        return found

    @classmethod
    def of_peer(cls, uid: int, gid: int, pid: int,
                instructor_gids: frozenset[int] = frozenset()) -> Principal:
        """The user behind a unix socket peer (SO_PEERCRED: uid, gid, pid): named by the
        passwd entry, with the supplementary groups of the group database; root and members
        of ``instructor_gids`` have the instructor role."""
        try:
            name = pwd.getpwuid(uid).pw_name
            gids = tuple(os.getgrouplist(name, gid))
        except KeyError:
            name, gids = str(uid), (gid,)
        roles = frozenset({INSTRUCTOR}) if uid == 0 or instructor_gids & set(gids) \
            else frozenset()
        return cls(uid=uid, gids=gids, pid=pid, name=name, roles=roles)

    @classmethod
    def of_process(cls, name: str | None = None) -> Principal:
        """This process's own user (the Jupyter server's or the socket service's), named
        ``name`` (default: the user's login name); root has the instructor role."""
        uid = os.getuid()
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
        roles = frozenset({INSTRUCTOR}) if uid == 0 else frozenset()
        return cls(uid=uid, gids=tuple(os.getgroups()), pid=os.getpid(), name=name,
                   roles=roles)
