"""commit, image history and image prune in the multi-user service, with real Unix users
(tests/multiuser.py): a student commits their own container only, to names under
``localhost/<their name>/`` or untagged (rule image_namespace); prune is the instructor's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import DEMO
from tests.multiuser import API, people, root_service  # noqa: F401 - people: a fixture


@pytest.fixture(scope="module")
def service(people: dict[str, Any],  # noqa: F811 - the imported fixture
            engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(people, engine_roots) as sock:
        yield sock


def commit_url(ctr: str, repo: str = "", docker: bool = False) -> str:
    base = "" if docker else API
    return f"{base}/commit?container={ctr}" + (f"&repo={quote(repo, safe='')}" if repo else "")


def test_students_commit_to_their_namespace_only(people: dict[str, Any],  # noqa: F811
                                                 service: Path) -> None:
    a, b, t = people["a"], people["b"], people["t"]
    made = a.call(service, ("POST", f"{API}/containers/create",
                            {"image": DEMO, "command": ["sh", "-c", "echo mine > /mine"],
                             "name": f"{a.name}-src"}),
                  ("POST", f"{API}/containers/{a.name}-src/start", None),
                  ("POST", f"{API}/containers/{a.name}-src/wait", None))
    assert [s for s, _ in made] == [201, 204, 200], made
    own = f"localhost/{a.name}/snap:1"
    answers = a.call(service, ("POST", commit_url(f"{a.name}-src", own), None),
                     ("POST", commit_url(f"{a.name}-src"), None),
                     ("POST", commit_url(f"{a.name}-src", DEMO), None),
                     ("POST", commit_url(f"{a.name}-src", f"localhost/{b.name}/x"), None),
                     ("POST", commit_url(f"{a.name}-src", "docker.io/library/python",
                                         docker=True), None),
                     ("GET", f"{API}/images/{quote(own, safe='')}/history", None),
                     ("GET", f"{API}/images/{quote(DEMO, safe='')}/history", None),
                     ("POST", f"{API}/images/prune", None),
                     ("POST", "/images/prune", None))
    (s1, snap), (s2, untagged) = answers[0], answers[1]
    assert (s1, s2) == (200, 200), answers[:2]
    for status, body in answers[2:5]:
        assert status == 403, body
        assert "policy rule image_namespace" in body["message"]
        assert f"localhost/{a.name}/" in body["message"]
    assert answers[5][0] == 200 and answers[5][1][0]["Id"] == snap["Id"]
    assert answers[6][0] == 200
    for status, body in answers[7:]:
        assert status == 403 and "policy rule instructor_only" in body["message"], body
    # another student's container is not there for b; b's commit moves no name of a's
    status, body = b.one(service, "POST", commit_url(f"{a.name}-src", f"localhost/{b.name}/y"))
    assert status == 404 and body["cause"] == "no such container"
    # the instructor commits anyone's container to any name, and prunes
    done = t.call(service, ("POST", commit_url(f"{a.name}-src", "localhost/course/base"), None),
                  ("DELETE", f"{API}/containers/{a.name}-src", None),
                  ("DELETE", f"{API}/images/{quote(own, safe='')}", None),
                  ("DELETE", f"{API}/images/localhost/course/base", None),
                  ("POST", f"{API}/images/prune", None))
    assert [s for s, _ in done] == [200, 200, 200, 200, 200], done
    assert untagged["Id"] in [r["Id"] for r in done[4][1]]


def test_students_tag_and_untag_in_their_namespace_only(people: dict[str, Any],  # noqa: F811
                                                         service: Path) -> None:
    a, t = people["a"], people["t"]
    own = f"localhost/{a.name}/tagged"
    img = quote(DEMO, safe="")
    answers = a.call(service, ("POST", f"{API}/images/{img}/tag?repo={quote(own, safe='')}"
                                       "&tag=1", None),
                     ("POST", f"/images/{img}/tag?repo=localhost/course/x", None),
                     ("POST", f"{API}/images/{img}/tag?repo=localhost/busybox&tag=2", None),
                     ("POST", f"{API}/images/{img}/untag?repo={quote(DEMO, safe='')}", None),
                     ("POST", f"{API}/images/{img}/untag", None),  # all: busybox's too
                     ("POST", f"{API}/images/{img}/untag?repo={quote(own, safe='')}&tag=1",
                      None))
    assert answers[0][0] == 201, answers[0]
    for status, body in answers[1:5]:
        assert status == 403, body
        assert "policy rule image_namespace" in body["message"]
        assert f"localhost/{a.name}/" in body["message"]
    assert answers[5][0] == 201, answers[5]
    # the instructor tags and untags any name
    done = t.call(service, ("POST", f"{API}/images/{img}/tag?repo=localhost/course/x", None),
                  ("POST", f"{API}/images/{img}/untag?repo=localhost/course/x", None),
                  ("GET", f"{API}/images/{img}/json", None))
    assert [s for s, _ in done] == [201, 201, 200], done
    assert done[2][1]["RepoTags"] == [DEMO]
