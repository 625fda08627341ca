"""Issue 14's round trip with real containers and a real registry: pull an image, run a
container that changes it, commit, push the commit back, pull it on a fresh engine root, and
the change is there (and what the container deleted stays deleted)."""

from __future__ import annotations

from pathlib import Path

from jupyter_ctr.engine import Runtime
from tests.conftest import leftovers, wait_until
from tests.engine.images.registry import TEST_REPO, TEST_TAG, LocalRegistry


def output(ctr: object) -> str:
    return "".join(line.text + "\n" for line in ctr.logs())  # type: ignore[attr-defined]


def test_pull_run_commit_push_pull_on_a_fresh_root(registry: LocalRegistry, rt: Runtime,
                                                   tmp_path: Path) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    pulled = rt.pull_image(ref, tls_verify=False)
    ctr = rt.create_container(ref, ["sh", "-c", "echo committed > /etc/change; "
                                    "rm /etc/layer3"])
    ctr.start()
    assert ctr.wait() == 0
    committed = f"{registry.host}/test/committed:1"
    img = rt.commit_container(ctr, committed, message="the change",
                              changes=["ENV STAGE=two"])
    assert img.layers[:-1] == pulled.layers  # the base's layers, shared, plus one
    rt.push_image(committed, tls_verify=False)

    fresh = Runtime(tmp_path / "r", tmp_path / "x")
    ids: set[str] = set()
    try:
        copy = fresh.pull_image(committed, tls_verify=False)
        assert len(copy.layers) == len(pulled.layers) + 1
        check = fresh.create_container(committed, ["sh", "-c", "cat /etc/change; "
                                                   "test ! -e /etc/layer3 && echo $STAGE"])
        ids.add(check.id)
        check.start()
        assert check.wait() == 0
        assert output(check) == "committed\ntwo\n"
    finally:
        for c in fresh.list_containers(all=True):
            fresh.remove_container(c, force=True, timeout=0)
        assert wait_until(lambda: not any(leftovers(fresh, ids).values()), 10)
        fresh.close()
        rt.remove_container(ctr, force=True, timeout=0)
        for name in (committed, ref):
            rt.images.remove(name, lambda _id: [])
