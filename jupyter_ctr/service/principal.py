"""Principal: who a service call is made for. Every ContainerService method takes one, and
the Policy decides what it may do. The unix socket service makes one per request from the
peer's credentials (``of_peer``); the CLI, the kernel and the Jupyter server extension act as
their own process's user (``of_process``)."""

from __future__ import annotations

import os
import pwd

#: The role that may see and act on every container (root has it).
INSTRUCTOR = "instructor"


class Principal:
    """A caller: Unix identity (uid, gids, pid of the process that asked), a display name,
    and roles. Immutable. (A plain class, not a dataclass: the CLI makes one per command.)"""

    __slots__ = ("uid", "gids", "pid", "name", "roles")

    uid: int
    gids: tuple[int, ...]
    pid: int
    name: str
    roles: frozenset[str]

    def __init__(self, uid: int, gids: tuple[int, ...] = (), pid: int = 0, name: str = "",
                 roles: frozenset[str] = frozenset()) -> None:
        for key, value in (("uid", uid), ("gids", tuple(gids)), ("pid", pid), ("name", name),
                           ("roles", frozenset(roles))):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Principal is immutable: cannot set {key!r}")

    def _key(self) -> tuple[object, ...]:
        return (self.uid, self.gids, self.pid, self.name, self.roles)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Principal) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Principal(uid={self.uid}, gids={self.gids}, pid={self.pid}, "
                f"name={self.name!r}, roles={set(self.roles) or '{}'})")

    def has_role(self, role: str) -> bool:
        return role in self.roles

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
