"""Principal: who a service call is made for. Every ContainerService method takes one, and
the Policy decides what it may do (issue 13 adds owners and rules; today the server passes
the Jupyter user or the socket service's local user)."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field

#: The role that may see and act on every container (root has it).
INSTRUCTOR = "instructor"


@dataclass(frozen=True)
class Principal:
    """A caller: Unix identity (uid, gids, pid of the process that asked), a display name,
    and roles."""

    uid: int
    gids: tuple[int, ...] = ()
    pid: int = 0
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles

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
