"""A hostile student against one root service (issue 13, "Security"): real Unix users (two
students, an instructor: tests/multiuser.py), every request from the student's own process.

Bad ids, path tricks, oversized and malformed bodies each get a clean 4xx: a JSON error body
whose message names the problem, never a 5xx, a traceback or a hang. After each step the
service still answers, nothing was written where the attacker pointed, and no container,
mount, cgroup, conmon or spool file is left behind. A student flooding a websocket (stdin
sent as fast as they can, output never read) while the other student types in a terminal
through the same service: the victim's echo still comes back, with nothing of the
attacker's in it; the echo latency before and during the flood is recorded (printed and
``record_property``), never asserted.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import DEMO, leftovers, wait_until
from tests.multiuser import API, User, people, root_service  # noqa: F401 - people: a fixture

from .hostile_client import Hostile

pytestmark = pytest.mark.timeout(600)

#: Container, exec and image ids a client could send, raw in the path (percent-encoded where
#: a client would have to): traversal, encoded slashes, control characters, odd unicode,
#: glob characters, shell syntax, very long.
BAD_IDS = ["", ".", "..", "%2e%2e", "%2E%2E%2F%2E%2E", "..%2f..%2fetc%2fpasswd", "%2f", "a%2fb",
           "%00", "x%00y", "%01", "%0a", "%0d%0a", "%7f", "%ff%fe", "%C3%A9", "%F0%9D%95%8F",
           "%E2%80%AE", "*", "%2A", "[a-f]*", "%3F", "{}", "%20", "~root", "%24%28id%29",
           "a" * 5000, "%2e" * 2000]
#: The routes each bad id is tried on.
ID_ROUTES = [("GET", API + "/containers/{}/json", None),
             ("POST", API + "/containers/{}/start", None),
             ("POST", API + "/containers/{}/exec", {"Cmd": ["id"]}),
             ("GET", API + "/containers/{}/logs?stdout=true", None),
             ("DELETE", API + "/containers/{}?force=true", None),
             ("GET", "/containers/{}/json", None),
             ("GET", API + "/exec/{}/json", None),
             ("POST", API + "/exec/{}/start", {"Detach": True}),
             ("GET", API + "/images/{}/json", None),
             ("GET", "/api/containers/{}/attach/ws", None),
             ("GET", "/api/exec/{}/ws", None)]


def req(method: str, path: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    """A request with a JSON body (None: no body)."""
    out: dict[str, Any] = {"method": method, "path": path, **extra}
    if body is not None:
        out["body"] = {"text": json.dumps(body)}
        out.setdefault("headers", {"Content-Type": "application/json"})
    return out


def clean_4xx(answer: dict[str, Any], *words: str, status: int | None = None) -> str:
    """A 4xx with a JSON error body whose message names ``words``; the message."""
    assert not answer["error"] and answer["status"] is not None, answer
    assert 400 <= answer["status"] < 500, answer
    if status is not None:
        assert answer["status"] == status, answer
    assert answer["ctype"].startswith("application/json"), answer
    assert "Traceback" not in answer["body"], answer
    body = json.loads(answer["body"])
    message = body["message"]
    assert isinstance(message, str) and message, body
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.fixture(scope="module")
def place(people: dict[str, Any]) -> Iterator[dict[str, Path]]:  # noqa: F811
    """Folders of the test: ``share`` (the one allowed host folder) holding ``own``, a folder
    of student a (who plants symlinks in it), and ``outside``, where nothing may appear."""
    base = Path(tempfile.mkdtemp(prefix="jcthostile", dir="/tmp"))
    base.chmod(0o755)
    share, outside = base / "share", base / "outside"
    own = share / "a"
    for folder in (share, own, outside):
        folder.mkdir(mode=0o755)
    os.chown(own, people["a"].uid, people["a"].gid)
    yield {"base": base, "share": share, "own": own, "outside": outside}
    shutil.rmtree(base)


@pytest.fixture(scope="module")
def service(people: dict[str, Any], engine_roots: tuple[Path, Path],  # noqa: F811
            place: dict[str, Path]) -> Iterator[Path]:
    tag = people["tag"]
    config = {"ServiceSettings": {"socket_group": f"{tag}s", "instructor_group": f"{tag}i"},
              "PolicyRules": {"allowed_host_folders": [str(place["share"])]}}
    with root_service(people, engine_roots, config=config) as sock:
        yield sock


@pytest.fixture(scope="module")
def boxes(people: dict[str, Any], service: Path) -> dict[str, str]:  # noqa: F811
    """A running container of each student: {"a": id, "b": id}."""
    out = {}
    for key in "ab":
        user: User = people[key]
        (s1, made), (s2, _) = user.call(
            service, ("POST", f"{API}/containers/create",
                      {"image": DEMO, "command": ["sleep", "1000"], "name": f"{user.name}-box"}),
            ("POST", f"{API}/containers/{user.name}-box/start", None))
        assert (s1, s2) == (201, 204), made
        out[key] = made["Id"]
    return out


@pytest.fixture(scope="module")
def engine(engine_roots: tuple[Path, Path]) -> Iterator[Runtime]:
    rt = Runtime(*engine_roots)
    yield rt
    rt.close()


@pytest.fixture
def settled(people: dict[str, Any], service: Path, engine: Runtime,  # noqa: F811
            boxes: dict[str, str], place: dict[str, Path]) -> Iterator[Callable[[], None]]:
    """``check()`` after a hostile step: the service answers, the students' boxes run, its
    log shows no traceback, no spool file or anything in ``outside`` is left, and every
    container the step made is removed without leftovers. Checked at the end of the test
    too."""
    uids = {people[k].uid for k in "abt"}

    def check() -> None:
        a: User = people["a"]
        (ping, _), (status, info) = a.call(service, ("GET", "/_ping", None),
                                           ("GET", f"{API}/containers/{boxes['a']}/json", None))
        assert (ping, status) == (200, 200) and info["State"]["Status"] == "running"
        assert list((engine.run_root / "uploads").glob("*")) == []
        assert list(place["outside"].iterdir()) == []
        log = (service.parent / "service.log").read_text(errors="replace")
        assert "Traceback" not in log, log[log.find("Traceback") - 300:][:3000]
        made = [c for c in engine.list_containers(all=True)
                if c.config.owner_uid in uids and c.id not in boxes.values()]
        for ctr in made:
            engine.remove_container(ctr, force=True, timeout=0)
        ids = {c.id for c in made}

        def left() -> dict[str, list[str]]:  # the boxes' own mounts and conmons aside
            return {kind: [x for x in found if not any(b in x for b in boxes.values())]
                    for kind, found in leftovers(engine, ids).items()}

        assert wait_until(lambda: not any(left().values()), 10), left()

    yield check
    check()


# -- bad ids ------------------------------------------------------------------------------------
def test_bad_ids_answer_a_clean_4xx(people: dict[str, Any], service: Path,  # noqa: F811
                                    boxes: dict[str, str],
                                    settled: Callable[[], None]) -> None:
    a = Hostile(people["a"], service)
    requests = [req(method, path.format(bad), body)
                for bad in BAD_IDS for method, path, body in ID_ROUTES]
    answers = a.http(*requests)
    for request, answer in zip(requests, answers, strict=True):
        assert not answer["error"], (request["method"], request["path"][:100], answer)
        clean_4xx(answer)
        assert boxes["b"] not in answer["body"], (request, answer)
    by_id = dict(zip(BAD_IDS, [answers[i:i + len(ID_ROUTES)]
                               for i in range(0, len(answers), len(ID_ROUTES))], strict=True))
    # traversal finds nothing: ".." is a name like any other
    for bad in ("..", "%2e%2e", "%2E%2E%2F%2E%2E", "..%2f..%2fetc%2fpasswd", "a%2fb"):
        assert "no container with name or ID" in clean_4xx(by_id[bad][0], status=404), bad
    for bad in ("%00", "x%00y", "%01", "%0a", "%7f"):
        clean_4xx(by_id[bad][0], "control characters", status=400)
    # the same strings as a new container's name or image, and as an exec session's command
    creates = [req("POST", f"{API}/containers/create",
                   {"image": DEMO, "command": ["true"], "name": name})
               for name in ("..", "../x", "a/b", "x\0y", "\u202e", "*", "-x", "\u00e9")]
    creates += [req("POST", f"/containers/create?name={name}", {"Image": DEMO, "Cmd": ["true"]})
                for name in ("..", "a%2fb", "%00", "%2e%2e%2f")]
    creates += [req("POST", f"{API}/containers/create", {"image": image, "command": ["true"]})
                for image in ("../../etc", "/etc/passwd", "localhost/../x", "\0", "a" * 5000)]
    for answer in a.http(*creates):
        clean_4xx(answer)
    settled()


def test_an_id_prefix_shared_with_another_student(people: dict[str, Any],  # noqa: F811
                                                  service: Path, boxes: dict[str, str],
                                                  settled: Callable[[], None]) -> None:
    """A short id prefix that is ambiguous among everyone's containers finds the student's
    own one: the other's container neither answers nor makes the prefix ambiguous."""
    a, b, t = people["a"], people["b"], people["t"]
    spec = {"image": DEMO, "command": ["true"]}
    while True:
        status, mine = a.one(service, "POST", f"{API}/containers/create", spec)
        assert status == 201
        prefix = mine["Id"][0]
        if not boxes["a"].startswith(prefix):
            break
        a.one(service, "DELETE", f"{API}/containers/{mine['Id']}")
    theirs = None
    for _ in range(200):
        status, made = b.one(service, "POST", f"{API}/containers/create", spec)
        assert status == 201
        if made["Id"].startswith(prefix):
            theirs = made["Id"]
            break
    assert theirs is not None
    (sa, ia), = a.call(service, ("GET", f"{API}/containers/{prefix}/json", None))
    (sb, ib), = b.call(service, ("GET", f"{API}/containers/{prefix}/json", None))
    assert (sa, ia["Id"]) == (200, mine["Id"])
    if not boxes["b"].startswith(prefix):  # b may have two of them: then b's is ambiguous
        assert (sb, ib["Id"]) == (200, theirs)
    st, it = t.one(service, "GET", f"{API}/containers/{prefix}/json")
    assert st == 404 and "more than one container" in it["message"]
    # a removes by the prefix: a's own goes, b's stays
    assert a.one(service, "DELETE", f"{API}/containers/{prefix}")[0] == 200
    assert b.one(service, "GET", f"{API}/containers/{theirs}/json")[0] == 200
    settled()


# -- path tricks --------------------------------------------------------------------------------
def _mount_requests(source: Any) -> list[dict[str, Any]]:
    """A create with ``source`` as a bind mount in each form the APIs take."""
    libpod = {"image": DEMO, "command": ["true"]}
    docker = {"Image": DEMO, "Cmd": ["true"]}
    bind = f"{source}:/x" if isinstance(source, str) else source
    return [
        req("POST", f"{API}/containers/create",
            {**libpod, "mounts": [{"type": "bind", "source": source, "destination": "/x"}]}),
        req("POST", f"{API}/containers/create",
            {**libpod, "overlay_volumes": [{"source": source, "destination": "/x"}]}),
        req("POST", "/containers/create", {**docker, "HostConfig": {"Binds": [bind]}}),
        req("POST", "/containers/create", {**docker, "HostConfig": {"Mounts": [
            {"Type": "bind", "Source": source, "Target": "/x"}]}}),
    ]


def test_mounts_outside_the_allowed_folder_are_refused(
        people: dict[str, Any], service: Path, engine: Runtime,  # noqa: F811
        place: dict[str, Path], settled: Callable[[], None]) -> None:
    """``..`` in host paths, symlinks the student planted in their own folder inside the
    allowed one, /proc, /, the engine's roots and the socket's folder: each a 403 naming the
    rule; NUL in a path a 400; the allowed folder itself (and the student's) still allowed."""
    a: User = people["a"]
    share, own, outside = place["share"], place["own"], place["outside"]
    plant = subprocess.run(a.argv("sh", "-c", f"cd {own} && ln -s /etc etc && ln -s .. up && "
                                  f"ln -s /proc proc && ln -s {engine.root} root && "
                                  f"ln -s {service.parent} sock && ln -s {outside} out"),
                           capture_output=True, text=True, check=False)
    assert plant.returncode == 0, plant.stderr
    refused = ["/", "/proc", "/proc/self/root", "/etc", str(engine.root), str(engine.run_root),
               str(service.parent), f"{share}/../outside", f"{own}/../../outside",
               f"{own}/etc", f"{own}/up/../outside", f"{own}/proc", f"{own}/root",
               f"{own}/sock", f"{own}/out", f"{own}/out/new", f"{own}/etc/..",
               f"{share}/../outside/new/../..", "etc", "../../etc", "."]
    allowed = [str(share), str(own), f"{own}/up", f"{share}/./a/.."]
    hostile = Hostile(a, service)
    answers = hostile.http(*[r for src in refused + ["/x\0y", f"{share}\0"] + allowed
                             for r in _mount_requests(src)])
    per = len(_mount_requests("x"))
    for i, src in enumerate(refused):
        for answer in answers[i * per:(i + 1) * per]:
            if answer["status"] == 201:  # Docker's Binds: a relative source is a named volume
                assert not src.startswith("/"), (src, answer)
                continue
            message = clean_4xx(answer, "refused by policy rule allowed_host_folders",
                                status=403)
            assert str(engine.root) not in message  # the engine's paths stay hidden
    nul = answers[len(refused) * per:(len(refused) + 2) * per]
    for answer in nul:
        clean_4xx(answer, "NUL", status=400)
    for answer in answers[(len(refused) + 2) * per:]:
        assert answer["status"] == 201, answer
    assert list(outside.iterdir()) == [] and (own / "out").is_symlink()
    # paths in other fields: none is a host path, none is written outside
    named = {"conmon_pid_file": f"{outside}/pid", "rootfs": "/", "oci_runtime": "/bin/sh",
             "cgroup_parent": "/../../evil", "static_ip": "1.2.3.4",
             "volumes": [{"Name": "../../x", "Dest": "/x"}], "work_dir": f"/../..{outside}",
             "hostname": "../x"}
    (status, body), = a.call(service, ("POST", f"{API}/containers/create",
                                       {"image": DEMO, "command": ["sleep", "60"], **named}))
    assert status == 201, body
    assert a.one(service, "POST", f"{API}/containers/{body['Id']}/start")[0] == 204
    answers = hostile.http(
        req("POST", f"{API}/containers/create", {
            "image": DEMO, "command": ["true"], "log_configuration": {"path": f"{outside}/log"}}),
        req("POST", f"{API}/containers/create", {"image": DEMO, "command": ["x" * 100_000]}),
        req("POST", f"{API}/containers/create", {"image": DEMO, "command": ["true"],
                                                 "work_dir": "/" + "w" * 100_000}),
        req("POST", f"{API}/containers/create", {"image": DEMO, "command": ["true"],
                                                 "work_dir": "../../tmp"}))
    clean_4xx(answers[0], "log_configuration path", status=400)
    clean_4xx(answers[1], "the command's executable is 100000 bytes long", status=400)
    clean_4xx(answers[2], "the working directory is 100001 bytes long", status=400)
    clean_4xx(answers[3], "must be an absolute path", status=400)
    assert list(outside.iterdir()) == []
    assert not Path("/sys/fs/cgroup/evil").exists()
    settled()


# -- archives, bodies, content types ------------------------------------------------------------
def _tar(*members: tuple[str, str, Any]) -> dict[str, str]:
    """A tar as a request body: (name, kind, data) with kind file, sym, hard or dev."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data
            elif kind == "dev":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return {"b64": base64.b64encode(buf.getvalue()).decode()}


def test_archive_paths_are_never_followed(people: dict[str, Any], service: Path,  # noqa: F811
                                          boxes: dict[str, str], place: dict[str, Path],
                                          settled: Callable[[], None]) -> None:
    """Image and checkpoint imports with members that climb out, absolute paths, links out
    and devices: each a 400 naming the member; path-like query parameters are no paths (a
    checkpoint export goes to the answer, never to a file the client names)."""
    a, t = Hostile(people["a"], service), Hostile(people["t"], service)
    outside = place["outside"]
    evil = [(_tar((f"../../../..{outside}/x", "file", b"x")), "'..' component"),
            (_tar((f"{outside}/y", "file", b"y")), "absolute path"),
            (_tar(("ln", "sym", str(outside)), ("ln/z", "file", b"z")), "symlink"),
            (_tar(("up", "sym", "../../.."), ("up/tmp/z", "file", b"z")), "'up'"),
            (_tar(("h", "hard", "/etc/shadow")), "hardlink"),
            (_tar(("d", "dev", None)), "device"),
            ({"text": "not a tar"}, "not a valid tar archive")]
    requests = []
    for body, _ in evil:
        requests.append({"method": "POST", "body": body, "path": f"{API}/images/import?"
                         f"reference=localhost/{people['tag']}evil:1&path={outside}/i"})
        requests.append({"method": "POST", "body": body, "path": f"{API}/containers/x/"
                         f"restore?import=true&target={outside}/c&name={people['tag']}evil"})
    requests.append({"method": "POST", "path": f"{API}/images/import?reference=../../x",
                     "body": evil[0][0]})
    answers = a.http(*requests)
    for i, (_, words) in enumerate(evil):
        image, restore = answers[2 * i:2 * i + 2]
        clean_4xx(image)  # (a student may not import images at all: instructor_only)
        clean_4xx(restore, words, status=400)
    clean_4xx(answers[-1])
    # the instructor, who may import images, meets the same archive checks; a device node
    # in an image layer is skipped (as an OCI layer's are: a note, never a node on disk),
    # so that import is an image, removed again here
    answers = t.http(*requests[:-1:2], requests[-1])
    for (_, words), answer in zip(evil, answers[:-1], strict=True):
        if words == "device":
            assert answer["status"] == 200, answer
            gone = t.http(req("DELETE", f"{API}/images/localhost/{people['tag']}evil:1"))[0]
            assert gone["status"] == 200, gone
            continue
        clean_4xx(answer, words, status=400)
    clean_4xx(answers[-1], "invalid image reference", status=400)
    assert list(outside.iterdir()) == []
    # a checkpoint export with path-like parameters: the archive comes in the answer
    export = a.http(req("POST", f"{API}/containers/{boxes['a']}/checkpoint?export=true&"
                        f"leaveRunning=true&target={outside}/t.tar&file={outside}/f.tar&"
                        f"path={outside}/p.tar", timeout=120))[0]
    assert export["status"] == 200 and export["ctype"] == "application/x-tar", export
    assert list(outside.iterdir()) == []
    settled()


def test_oversized_and_malformed_bodies(people: dict[str, Any], service: Path,  # noqa: F811
                                        settled: Callable[[], None]) -> None:
    a = Hostile(people["a"], service)
    create = f"{API}/containers/create"
    json_type = {"Content-Type": "application/json"}
    big = {"fill": ['{"image": "' + DEMO + '", "labels": {"a": "', "x", 5 << 20, '"}}']}
    answers = a.http(
        # over the JSON limit (server/params.py MAX_JSON_BYTES, 4 MiB): sent, or only announced
        {"method": "POST", "path": create, "headers": json_type, "body": big},
        {"method": "POST", "path": create, "body": {"text": "{}"},
         "headers": {**json_type, "Content-Length": str(1 << 40)}},
        {"method": "POST", "path": "/containers/create", "headers": json_type, "body": big},
        # uploads over what the engine may receive (engine archive limits, free space)
        {"method": "POST", "path": f"{API}/images/import?reference=localhost/x:1",
         "headers": {"Content-Length": str(1 << 62)}, "body": {"text": ""}},
        {"method": "POST", "path": f"{API}/containers/x/restore?import=true",
         "headers": {"Content-Length": str(1 << 62)}, "body": {"text": ""}},
        # malformed JSON
        *[{"method": "POST", "path": create, "headers": json_type, "body": body} for body in (
            {"text": "{"}, {"text": "[1, 2]"}, {"text": "null"}, {"text": '{"image": NaN}'},
            {"text": '{"image": 1e999}'}, {"b64": base64.b64encode(b"\xff\xfe{").decode()},
            {"text": "[" * 100_000}, {"text": '{"image": "' + DEMO + '", "labels": 5}'},
            {"text": '{"image": "' + DEMO + '", "resource_limits": {"memory": '
             '{"limit": 99999999999999999999999}}}'},
            {"text": "5\r\n{\"a\":\r\n0\r\n\r\n"})],
        # wrong content types
        {"method": "POST", "path": create, "body": {"text": "image=x&command=true"},
         "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"method": "POST", "path": create, "body": {"text": "--zz\r\ngarbage"},
         "headers": {"Content-Type": "multipart/form-data; boundary=zz"}},
        {"method": "POST", "path": create, "body": {"text": "{}"},
         "headers": {"Content-Type": "application/json; charset=utf-16"}},
        {"method": "POST", "path": f"{API}/containers/x/restore?import=true",
         "headers": {"Content-Type": "application/json"}, "body": {"text": "{}"}},
        {"method": "POST", "path": f"{API}/images/import?reference=localhost/x:1",
         "headers": {"Content-Type": "application/x-tar"}, "body": {"text": ""}},
    )
    for answer in answers[:3]:
        clean_4xx(answer, "request body is too large", status=413)
    clean_4xx(answers[3])  # 413, or 403 where students may not import images at all
    clean_4xx(answers[4], "is larger than the", status=413)
    for answer in answers[5:]:
        clean_4xx(answer)
    settled()


# -- flooding a websocket -----------------------------------------------------------------------
def _exec_ws(user: User, sock: Path, ctr: str, cmd: list[str], tty: bool) -> str:
    """The websocket path of a new exec session of ``cmd`` in ``ctr``."""
    status, made = user.one(sock, "POST", f"{API}/containers/{ctr}/exec",
                            {"Cmd": cmd, "Tty": tty, "AttachStdin": True, "AttachStdout": True,
                             "AttachStderr": True})
    assert status == 201, made
    return f"/api/exec/{made['Id']}/ws?rows=24&cols=80"


def _summary(lat: list[float]) -> dict[str, float]:
    ordered = sorted(lat)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2)}


@pytest.mark.parametrize("kind", ["stdin", "noread"])
def test_a_flood_does_not_silence_another_terminal(
        people: dict[str, Any], service: Path, boxes: dict[str, str],  # noqa: F811
        settled: Callable[[], None], kind: str, record_property: Any) -> None:
    """Student b types in a terminal (a websocket exec of ``cat`` in a tty) while student a
    floods a websocket of their own: megabytes of stdin as fast as they can ("stdin", then
    one message over the service's limit), or a flood of output they never read ("noread").
    b's every keystroke line still echoes back, correctly and with nothing of a's; the echo
    latency before and during the flood is recorded, not asserted (no timed assertions)."""
    a, b = Hostile(people["a"], service), Hostile(people["b"], service)
    victim = b.spawn("victim", {"path": _exec_ws(people["b"], service, boxes["b"], ["cat"],
                                                 tty=True)})
    attacker = None
    try:
        assert victim.stdout is not None and victim.stdin is not None
        assert json.loads(victim.stdout.readline()) == {"open": 101}

        def probe(count: int) -> list[float]:
            assert victim.stdin is not None and victim.stdout is not None
            victim.stdin.write(f"probe {count}\n")
            victim.stdin.flush()
            lat = json.loads(victim.stdout.readline())["lat"]
            assert None not in lat, lat  # every echo came back
            return lat  # type: ignore[no-any-return]

        before = probe(50)
        cmd = ["sh", "-c", "cat > /dev/null"] if kind == "stdin" else \
            ["sh", "-c", "while :; do echo ATTACKATTACKATTACKATTACKATTACKATTACK; done"]
        attacker = a.spawn("flood", {"path": _exec_ws(people["a"], service, boxes["a"], cmd,
                                                      tty=kind == "noread"),
                                     "kind": kind, "secs": 60})
        assert attacker.stdout is not None and attacker.stdin is not None
        assert json.loads(attacker.stdout.readline()) == {"open": 101}
        during = probe(100)
        attacker.stdin.close()
        flood = json.loads(attacker.stdout.readline())
        after = probe(10)
        assert victim.stdin is not None
        victim.stdin.write("end\n")
        victim.stdin.flush()
        out = json.loads(victim.stdout.readline())["out"]
    finally:
        for proc in (victim, attacker):
            if proc is not None:
                proc.kill()
                proc.wait()
    # the victim's terminal shows exactly its own lines (echoed by the tty, then by cat)
    assert "ATTACK" not in out
    tokens = re.findall(r"p(\d+)q", out)
    assert sorted({int(t) for t in tokens}) == list(range(1, 161)), out[-400:]
    assert set(re.sub(r"p\d+q", "", out)) <= {"\r", "\n"}, out[-400:]
    numbers = {"flood": kind, "before": _summary(before), "during": _summary(during),
               "after": _summary(after), "attacker": flood}
    record_property("echo_latency", json.dumps(numbers))
    print("\necho latency (ms) with a", kind, "flood:", json.dumps(numbers))
    settled()
