"""Stats streams in the multi-user socket service with real Unix users: every client is fed by
the service's one sampler, yet a student's stream of all containers holds only their own
(the other student's never appears), a stream naming another's container answers as a
missing one, and the instructor's stream holds both."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO
from tests.multiuser import API, User, people, root_service  # noqa: F401 - people: a fixture

pytestmark = pytest.mark.timeout(180)

#: Reads the first ``count`` lines of a streamed response as the user: [status, [lines]].
STREAM_CLIENT = r"""
import http.client, json, socket, sys

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)

conn = UnixConnection(sys.argv[1])
conn.request("GET", sys.argv[2])
resp = conn.getresponse()
lines = []
if resp.status != 200:
    lines.append(resp.read().decode())
while resp.status == 200 and len(lines) < int(sys.argv[3]):
    line = resp.readline()
    if not line:
        break
    lines.append(line.decode())
json.dump([resp.status, lines], sys.stdout)
"""


@pytest.fixture(scope="module")
def service(people: dict[str, Any],  # noqa: F811 - the imported fixture
            engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(people, engine_roots) as sock:
        yield sock


def stream(user: User, sock: Path, url: str, count: int) -> tuple[int, list[Any]]:
    proc = subprocess.run(user.argv("/usr/bin/python3", "-I", "-c", STREAM_CLIENT, str(sock),
                                    url, str(count)),
                          capture_output=True, text=True, timeout=120, check=False, cwd="/")
    assert proc.returncode == 0, proc.stderr
    status, lines = json.loads(proc.stdout)
    return status, [json.loads(line) for line in lines]


def test_a_students_stats_stream_has_only_their_containers(
        people: dict[str, Any], service: Path) -> None:  # noqa: F811
    a, b, t = people["a"], people["b"], people["t"]
    ids = {}
    for user in (a, a, b):
        status, made = user.one(service, "POST", f"{API}/containers/create",
                                {"image": DEMO, "command": ["sleep", "1000"]})
        assert status == 201, made
        assert user.one(service, "POST", f"{API}/containers/{made['Id']}/start")[0] == 204
        ids.setdefault(user.name, set()).add(made["Id"])
    url = f"{API}/containers/stats?stream=true&interval=1"
    for user, other in ((a, b), (b, a)):
        status, messages = stream(user, service, url, 3)
        assert status == 200 and len(messages) == 3
        for body in messages:
            seen = {s["ContainerID"] for s in body["Stats"]}
            assert seen == ids[user.name], (user.name, body)
            assert not seen & ids[other.name]
    # the instructor's stream holds both students'
    status, messages = stream(t, service, url, 2)
    assert status == 200
    assert all(ids[a.name] | ids[b.name] <= {s["ContainerID"] for s in body["Stats"]}
               for body in messages)
    # another's container, named, is missing for the stream of one or of some
    theirs = next(iter(ids[a.name]))
    status, body = stream(b, service, f"/containers/{theirs}/stats?stream=true", 1)
    assert status == 404, body
    status, body = stream(b, service, f"{API}/containers/stats?containers={theirs}", 1)
    assert status == 404, body
    # and one's own, by the Docker route, streams
    status, messages = stream(b, service, f"/containers/{next(iter(ids[b.name]))}/stats", 2)
    assert status == 200 and [m["id"] for m in messages] == [next(iter(ids[b.name]))] * 2
