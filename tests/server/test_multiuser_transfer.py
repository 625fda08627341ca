"""pull, push, load and save in the multi-user service, with real Unix users: adding images
to the shared store (pull, load) is the instructors' (rule instructor_only); reading them
(save, push) is open to students; a local-only name is still answered to anyone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import DEMO
from tests.engine.images.registry import TEST_REPO, TEST_TAG, LocalRegistry
from tests.multiuser import API, people, root_service  # noqa: F401 - people: a fixture


@pytest.fixture(scope="module")
def service(people: dict[str, Any],  # noqa: F811 - the imported fixture
            engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(people, engine_roots) as sock:
        yield sock


def _objects(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return [body]
    return [json.loads(line) for line in str(body).splitlines() if line.strip()]


def test_students_may_not_add_images_but_may_read_them(
        people: dict[str, Any], service: Path, registry: LocalRegistry) -> None:  # noqa: F811
    b, t = people["b"], people["t"]
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    q = quote(ref, safe="")
    refused = b.call(service,
                     ("POST", f"{API}/images/pull?reference={q}&tlsVerify=false", None),
                     ("POST", f"/images/create?fromImage={quote(ref.split(':1')[0])}&tag=1",
                      None),
                     ("POST", f"{API}/images/load", {"not": "read"}),
                     ("POST", "/images/load", None))
    for status, body in refused:
        assert status == 403 and "policy rule instructor_only" in body["message"], body
    # a local-only name is answered from the store, to anyone
    status, body = b.one(service, "POST", f"{API}/images/pull?reference={quote(DEMO)}")
    assert status == 200 and _objects(body)[-1]["id"]
    # the instructor pulls
    status, body = t.one(service, "POST", f"{API}/images/pull?reference={q}&tlsVerify=false")
    objs = _objects(body)
    assert status == 200 and "error" not in objs[-1] and objs[-1]["id"], objs
    # a student may save (read) and push (read) what is there
    status, body = b.one(service, "GET", f"{API}/images/{q}/get")
    assert status == 200 and "manifest.json" in str(body)
    dest = f"{registry.host}/test/student-pushed:{people['tag']}"
    status, body = b.one(service, "POST", f"{API}/images/{q}/push?destination="
                         f"{quote(dest, safe='')}&tlsVerify=false")
    assert status == 200 and "error" not in _objects(body)[-1], body
    assert people["tag"] in registry.tags("test/student-pushed")
    # the instructor removes what was pulled
    assert t.one(service, "DELETE", f"{API}/images/{q}")[0] == 200
