"""Policy (service/policy.py): the default allows all; ``permits`` is ``authorize`` as yes/no."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine import NoSuchContainerError
from jupyter_ctr.service.policy import (
    ACTIONS,
    INSTRUCTOR_ONLY,
    NotAuthorizedError,
    OwnershipPolicy,
    Policy,
)
from jupyter_ctr.service.principal import INSTRUCTOR, Principal

BOB = Principal(uid=1001, name="bob")


def test_the_default_allows_every_action() -> None:
    policy = Policy()
    for action in ACTIONS:
        policy.authorize(BOB, action, None)
        assert policy.permits(BOB, action, object())


def test_permits_follows_authorize() -> None:
    class OnlyInspect(Policy):
        def authorize(self, principal: Principal, action: str, target: object) -> None:
            if action == "remove":
                raise NotAuthorizedError(f"{principal.name} may not remove: rule no-rm")
            if target == "hidden":
                raise NoSuchContainerError("no container with name or ID 'hidden' found")

    policy = OnlyInspect()
    assert policy.permits(BOB, "inspect", "web")
    assert not policy.permits(BOB, "remove", "web")
    assert not policy.permits(BOB, "inspect", "hidden")  # hiding answers as missing
    with pytest.raises(NotAuthorizedError, match="rule no-rm") as info:
        policy.authorize(BOB, "remove", "web")
    assert info.value.cause == "not authorized"


def test_ownership_scopes_students_to_their_own_containers() -> None:
    policy = OwnershipPolicy()
    teacher = Principal(uid=1500, name="teach", roles=frozenset({INSTRUCTOR}))
    assert policy.owner_scope(BOB) == 1001
    assert policy.owner_scope(teacher) is None
    assert Policy().owner_scope(BOB) is None  # single-user: everyone's
    policy.authorize(BOB, "create", {"image": "x"})  # rules come later: allowed


def test_instructor_only_actions() -> None:
    """Building the demo image writes what every user shares from the host: instructors
    only under ownership (a named rule), anyone in single-user mode."""
    policy = OwnershipPolicy()
    teacher = Principal(uid=1500, name="teach", roles=frozenset({INSTRUCTOR}))
    with pytest.raises(NotAuthorizedError, match="policy rule instructor_only: only the "
                                                 "instructor role may use image.build"):
        policy.authorize(BOB, "image.build", "localhost/busybox:latest")
    policy.authorize(teacher, "image.build", "localhost/busybox:latest")
    Policy().authorize(BOB, "image.build", "localhost/busybox:latest")
    assert INSTRUCTOR_ONLY <= ACTIONS
    # images are one store: a student may not put an image under a name others run, nor
    # remove one; listing and inspecting stay open
    for action in ("image.import", "image.remove"):
        with pytest.raises(NotAuthorizedError, match=f"instructor_only: .* {action}$"):
            policy.authorize(BOB, action, "localhost/busybox:latest")
        policy.authorize(teacher, action, "localhost/busybox:latest")
    for action in ("image.list", "image.inspect"):
        policy.authorize(BOB, action, None)


def test_commit_names_under_the_students_namespace() -> None:
    """The image store is shared: a student's commit names an image under
    ``localhost/<their name>/`` or none (rule image_namespace); instructors any name; prune
    is the instructor's; history is open."""
    policy = OwnershipPolicy()
    teacher = Principal(uid=1500, name="teach", roles=frozenset({INSTRUCTOR}))
    policy.authorize(BOB, "commit", "localhost/bob/snap:latest")
    policy.authorize(BOB, "commit", "")  # untagged
    for name in ("localhost/busybox:latest", "localhost/bobby/x:latest",
                 "docker.io/bob/x:latest", "localhost/bob:latest"):
        with pytest.raises(NotAuthorizedError, match="policy rule image_namespace: .* commit to "
                                                     "localhost/bob/NAME"):
            policy.authorize(BOB, "commit", name)
        policy.authorize(teacher, "commit", name)
    # tag and untag: the same namespace (names are shared), the image itself is open
    for action in ("image.tag", "image.untag"):
        policy.authorize(BOB, action, "localhost/bob/mine:1")
        policy.authorize(BOB, action, None)
        with pytest.raises(NotAuthorizedError, match="policy rule image_namespace: "
                                                     "localhost/busybox:latest .* under "
                                                     "localhost/bob/NAME"):
            policy.authorize(BOB, action, "localhost/busybox:latest")
        policy.authorize(teacher, action, "localhost/busybox:latest")
    with pytest.raises(NotAuthorizedError, match="instructor_only: .* image.prune$"):
        policy.authorize(BOB, "image.prune", False)
    policy.authorize(teacher, "image.prune", True)
    policy.authorize(BOB, "image.history", None)
