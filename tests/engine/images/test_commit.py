"""Commit (real containers): the container's upper directory becomes a layer on top of its
image's shared layers, whiteouts and opaque directories included; --change instructions;
pause while running; history; prune of dangling images and their layers."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.engine.errors import InvalidArgumentError, NoSuchImageError
from jupyter_ctr.engine.images.commit import apply_changes
from tests.conftest import DEMO, wait_until

S = ContainerState


def run(rt: Runtime, image: str, script: str | None = None) -> tuple[int, str]:
    ctr = rt.create_container(image, None if script is None else ["sh", "-c", script])
    ctr.start()
    code = ctr.wait()
    out = "\n".join(line.text for line in ctr.logs())
    rt.remove_container(ctr)
    return code, out


def du(path: Path) -> int:
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [".", *dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


@pytest.fixture
def private() -> Iterator[Runtime]:
    """A Runtime on roots of its own (prune must not touch the shared test images)."""
    base = Path(tempfile.mkdtemp(prefix="jcc", dir="/tmp"))
    runtime = Runtime(base / "r", base / "x")
    runtime.images.build_demo()
    yield runtime
    for ctr in runtime.list_containers(all=True):
        runtime.remove_container(ctr, force=True, timeout=0)
    runtime.close()
    subprocess.run(["umount", "-R", "-l", str(base)], check=False, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


# -- --change, no container ---------------------------------------------------------------

def test_apply_changes_forms() -> None:
    base = {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "WorkingDir": "/srv",
            "Labels": {"old": "1"}}
    out = apply_changes(base, [
        'CMD ["echo", "hi"]', "ENTRYPOINT /bin/run --x", "ENV A=2 B='two words'",
        "ENV C three", "LABEL k=v other=\"a b\"", "EXPOSE 80 53/udp", "WORKDIR app",
        "USER 1000:1000", "STOPSIGNAL SIGINT", 'VOLUME ["/data"]', "VOLUME /cache /x/",
        "CMD=/bin/true", "ONBUILD RUN true"])
    assert out["Cmd"] == ["/bin/sh", "-c", "/bin/true"]
    assert out["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --x"]
    assert out["Env"] == ["PATH=/bin", "A=2", "B=two words", "C=three"]
    assert out["Labels"] == {"old": "1", "k": "v", "other": "a b"}
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert out["WorkingDir"] == "/srv/app"
    assert (out["User"], out["StopSignal"]) == ("1000:1000", "SIGINT")
    assert out["Volumes"] == {"/data": {}, "/cache": {}, "/x": {}}
    assert base["Env"] == ["PATH=/bin", "A=1"]  # not modified


@pytest.mark.parametrize("change", ["FROM busybox", "RUN true", "EXPOSE http", "EXPOSE 0",
                                    "STOPSIGNAL NOPE", "VOLUME data", "CMD", "ENV",
                                    "LABEL novalue", 'CMD [1, 2]', ""])
def test_bad_change_is_a_clear_error(change: str) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid change"):
        apply_changes({}, [change])


# -- commit -----------------------------------------------------------------------------------

def test_commit_keeps_changes_and_whiteouts(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", (
        "echo new > /new; rm /etc/group; rm -rf /home; mkdir /usr/bin/x; "
        "rm -rf /usr; mkdir /usr; echo only > /usr/only")])
    ctr.start()
    assert ctr.wait() == 0
    image = rt.commit_container(ctr, "localhost/test/committed:1", message="first",
                                author="Ada <ada@example.org>")
    try:
        base = rt.images.get(DEMO)
        assert image.layers[:-1] == base.layers  # the base layers, shared
        assert rt.images.layer_dirs(image)[:-1] == rt.images.layer_dirs(base)
        assert image.names == ["localhost/test/committed:1"]
        code, out = run(rt, "localhost/test/committed:1", (
            "cat /new; test -e /etc/group || echo nogroup; test -e /home || echo nohome; "
            "ls /usr; cat /etc/passwd | head -1"))
        assert code == 0
        assert out.split("\n")[:4] == ["new", "nogroup", "nohome", "only"]
        assert out.split("\n")[4].startswith("root:")
        insp = image.inspect()
        assert insp["Author"] == "Ada <ada@example.org>"
        assert insp["Comment"] == "first"
        assert insp["RootFS"]["Layers"] == image.layers
        assert insp["History"][-1]["comment"] == "first"
        history = rt.image_history(image.id)
        assert history[0]["id"] == image.id and history[0]["comment"] == "first"
        assert history[0]["created_by"].startswith("sh -c")
        assert history[0]["size"] > 0
        assert [h["id"] for h in history[1:]] == ["<missing>"] * (len(history) - 1)
        assert len([h for h in history if not h["empty_layer"]]) == len(image.layers)
        events = [e for e in rt.events(filters={"event": ["commit"]}) if e.id == ctr.id]
        assert events and events[-1].attributes["committed"] == image.id
    finally:
        rt.remove_container(ctr)
        rt.remove_image(image.id)


def test_commit_applies_changes(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "mkdir -p /srv/app && echo x > /srv/app/f"])
    ctr.start()
    ctr.wait()
    image = rt.commit_container(ctr, "localhost/test/changed", changes=[
        'CMD ["sh", "-c", "pwd; echo $GREETING; cat f"]', "ENV GREETING=hello",
        "WORKDIR /srv/app", "LABEL course=os101", "EXPOSE 8080", "STOPSIGNAL SIGINT"])
    try:
        cfg = image.inspect()["Config"]
        assert cfg["Cmd"] == ["sh", "-c", "pwd; echo $GREETING; cat f"]
        assert "GREETING=hello" in cfg["Env"]
        assert (cfg["WorkingDir"], cfg["Labels"]) == ("/srv/app", {"course": "os101"})
        assert (cfg["ExposedPorts"], cfg["StopSignal"]) == ({"8080/tcp": {}}, "SIGINT")
        assert run(rt, "localhost/test/changed") == (0, "/srv/app\nhello\nx")
        with pytest.raises(InvalidArgumentError, match="FROM"):
            rt.commit_container(ctr, "localhost/test/bad", changes=["FROM x"])
        with pytest.raises(NoSuchImageError):
            rt.images.get("localhost/test/bad")
    finally:
        rt.remove_container(ctr)
        rt.remove_image(image.id)


def test_commit_running_container_pauses_and_keeps_it_running(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo live > /live; sleep 1000"])
    ctr.start()
    live = rt.container_dir(ctr.id) / "upper" / "live"
    # Written, not only created: the shell creates /live before echo writes it.
    assert wait_until(lambda: live.exists() and live.read_text() == "live\n")
    since = time.time()
    image = rt.commit_container(ctr, None)  # untagged: dangling
    try:
        assert ctr.state is S.RUNNING
        actions = [e.action for e in rt.events(since=since, filters={"container": [ctr.id]})]
        assert actions[:3] == ["pause", "unpause", "commit"]
        assert image.names == []
        assert run(rt, image.id, "cat /live") == (0, "live")
        again = rt.commit_container(ctr, "localhost/test/nopause", pause=False)
        assert [e.action for e in rt.events(since=since, filters={"container": [ctr.id]})
                ].count("pause") == 1
        assert again.layers[-1] == image.layers[-1]  # the same content: the same layer
        rt.remove_image(again.id)
    finally:
        rt.remove_container(ctr, force=True, timeout=0)
        rt.remove_image(image.id)


def test_commit_of_a_container_of_a_flattened_image(rt: Runtime) -> None:
    """An image from before layers (one rootfs, no layer records) commits: its rootfs becomes
    the new image's first layer."""
    image_id = hashlib.sha256(b"legacy-commit").hexdigest()
    rootfs = rt.root / "images" / image_id / "rootfs"
    rootfs.parent.mkdir(mode=0o700)
    shutil.copytree(rt.images.layer_dirs(rt.images.get(DEMO))[0], rootfs, symlinks=True)
    rt.store.add_image(image_id, ["localhost/legacy-commit:latest"], {
        "config": {"Env": [], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/",
                   "User": "", "Labels": {}}, "created": 1.0, "size": 1,
        "layers": [f"sha256:{image_id}"], "source": "tarball"})
    ctr = rt.create_container("localhost/legacy-commit", ["sh", "-c", "echo x > /x"])
    image = None
    try:
        assert len(rt.image_history("localhost/legacy-commit")) == 1
        ctr.start()
        ctr.wait()
        image = rt.commit_container(ctr, "localhost/test/from-legacy")
        assert len(image.layers) == 2
        assert run(rt, image.id, "cat /x; echo ok") == (0, "x\nok")
        assert len(rt.image_history(image.id)) == 2
    finally:
        rt.remove_container(ctr)
        if image is not None:
            rt.remove_image(image.id)
        rt.remove_image(image_id)


def test_prune_removes_dangling_images_and_their_layers(private: Runtime) -> None:
    rt = private
    base = rt.images.get(DEMO)
    layers_dir = rt.root / "layers"
    ctr = rt.create_container(DEMO, ["sh", "-c", "head -c 300000 /dev/urandom > /blob"])
    ctr.start()
    ctr.wait()
    dangling = rt.commit_container(ctr)
    named = rt.commit_container(ctr, "localhost/test/kept")
    assert dangling.id != named.id and dangling.layers == named.layers
    top = dangling.layers[-1].removeprefix("sha256:")
    # The shared base layer is on disk once: the top layer holds the new bytes only.
    assert du(layers_dir / top) < du(rt.images.layer_dirs(base)[0]) + 400_000
    assert sorted(os.listdir(layers_dir)).count(top) == 1
    assert du(layers_dir / top) >= 300_000
    # the base's bytes and the new layer's, once each, whatever the number of images
    assert du(layers_dir) < du(rt.images.layer_dirs(base)[0]) + du(layers_dir / top) + 100_000
    used = rt.commit_container(ctr, None, changes=["LABEL used=1"])
    user = rt.create_container(used.id, ["true"])
    assert rt.prune_images() == [dangling]
    assert {i.id for i in rt.list_images()} == {base.id, named.id, used.id}
    assert (layers_dir / top).is_dir()  # still listed by the named image
    rt.remove_container(user)
    rt.remove_container(ctr)
    pruned = [i.id for i in rt.prune_images()]
    assert pruned == [used.id]
    assert sorted(i.id for i in rt.prune_images(all=True)) == sorted([base.id, named.id])
    assert rt.list_images() == []
    assert [p for p in os.listdir(layers_dir) if len(p) == 64] == []


def test_prune_keeps_a_dangling_base_of_another_image(private: Runtime) -> None:
    rt = private
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo 1 > /one"])
    ctr.start()
    ctr.wait()
    parent = rt.commit_container(ctr)
    rt.remove_container(ctr)
    child_ctr = rt.create_container(parent.id, ["sh", "-c", "echo 2 > /two"])
    child_ctr.start()
    child_ctr.wait()
    child = rt.commit_container(child_ctr, "localhost/test/child")
    rt.remove_container(child_ctr)
    assert rt.prune_images() == []  # the parent is intermediate, not dangling
    rt.remove_image(child.id)
    assert [i.id for i in rt.prune_images()] == [parent.id]
    layers = [p for p in os.listdir(rt.root / "layers") if len(p) == 64]
    assert layers == [d.removeprefix("sha256:") for d in rt.images.get(DEMO).layers]
