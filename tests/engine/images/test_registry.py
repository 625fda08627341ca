"""Pull and push with skopeo against a real registry (tests/engine/images/registry.py):
layers arrive, a push lands under a new name, and each failure is a clear engine error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import (
    InvalidArgumentError,
    NoSuchImageError,
    RegistryAuthError,
    RegistryError,
)
from jupyter_ctr.engine.images.registry import (
    copy_error,
    layout_ref_name,
    manifest_digest,
    normalize_remote_reference,
    pull_to_layout,
    push_from_layout,
)

from .registry import (
    PASSWORD,
    TEST_LAYERS,
    TEST_REPO,
    TEST_TAG,
    USER,
    LocalRegistry,
    auth_file_for,
    free_port,
    layout_layers,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("ref", "want"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("user/app", "docker.io/user/app:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
    ("quay.io/podman/hello", "quay.io/podman/hello:latest"),
    ("localhost/python:3", "localhost/python:3"),
    ("127.0.0.1:5000/test/busy:1", "127.0.0.1:5000/test/busy:1"),
    ("localhost:5000/a/b/c", "localhost:5000/a/b/c:latest"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
    (f"quay.io/x/y:1@{DIGEST}", f"quay.io/x/y@{DIGEST}"),
])
def test_normalize_remote_reference(ref: str, want: str) -> None:
    assert normalize_remote_reference(ref) == want
    assert layout_ref_name(ref) == want


@pytest.mark.parametrize("ref", ["", "Busybox", "busybox@sha256:12", "a//b", "x:bad tag"])
def test_normalize_remote_reference_refuses(ref: str) -> None:
    with pytest.raises(InvalidArgumentError):
        normalize_remote_reference(ref)


def test_copy_error_kinds() -> None:
    ref = "127.0.0.1:5000/a/b:1"
    missing = copy_error("pull", ref, "initializing source docker://x: reading manifest 1 in "
                         "127.0.0.1:5000/a/b: manifest unknown: manifest unknown")
    assert isinstance(missing, NoSuchImageError)
    assert str(missing) == f"{ref}: image not known to registry 127.0.0.1:5000 (manifest unknown)"
    tls = copy_error("pull", ref, 'pinging container registry 127.0.0.1:5000: Get '
                     '"https://127.0.0.1:5000/v2/": x509: certificate signed by unknown authority')
    assert type(tls) is RegistryError and "--tls-verify=false" in str(tls)
    plain = copy_error("push", ref, "pinging: http: server gave HTTP response to HTTPS client")
    assert type(plain) is RegistryError and "plain http" in str(plain)
    other = copy_error("push", ref, "writing blob: something odd")
    assert type(other) is RegistryError
    assert str(other) == f"push {ref} (registry 127.0.0.1:5000) failed: writing blob: something odd"


# -- against the real registry ---------------------------------------------------------------

def test_pull_multilayer_image(registry: LocalRegistry, tmp_path: Path) -> None:
    seen: list[str] = []
    layout = tmp_path / "layout"
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    name = pull_to_layout(ref, layout, tls_verify=False, progress=seen.append)
    assert name == ref
    layers = layout_layers(layout, name)
    assert len(layers) == TEST_LAYERS == len(set(layers))
    assert manifest_digest(layout, name).startswith("sha256:")
    assert sum(line.startswith("Copying blob sha256:") for line in seen) == TEST_LAYERS
    assert "Writing manifest to image destination" in seen
    assert not any("level=" in line for line in seen)
    # a second pull into the same layout keeps the first image's blobs and adds its name
    again = pull_to_layout(f"{registry.host}/{TEST_REPO}@{manifest_digest(layout, name)}",
                           layout, tls_verify=False)
    assert manifest_digest(layout, again) == manifest_digest(layout, name)
    assert layout_layers(layout, again) == layers


def test_push_then_pull_under_another_name(registry: LocalRegistry, tmp_path: Path) -> None:
    src = tmp_path / "src"
    name = pull_to_layout(f"{registry.host}/{TEST_REPO}:{TEST_TAG}", src, tls_verify=False)
    seen: list[str] = []
    target = f"{registry.host}/pushed/copy:v2"
    digest = push_from_layout(src, name, target, tls_verify=False, progress=seen.append)
    assert digest == manifest_digest(src, name)  # OCI in, OCI out: the digest is kept
    assert "Writing manifest to image destination" in seen
    assert registry.tags("pushed/copy") == ["v2"]
    back = tmp_path / "back"
    back_name = pull_to_layout(target, back, tls_verify=False)
    assert layout_layers(back, back_name) == layout_layers(src, name)
    index = json.loads((back / "index.json").read_text())
    assert [m["annotations"]["org.opencontainers.image.ref.name"]
            for m in index["manifests"]] == [target]


def test_pull_missing_image(registry: LocalRegistry, tmp_path: Path) -> None:
    for ref in (f"{registry.host}/{TEST_REPO}:nope", f"{registry.host}/no/such:1"):
        with pytest.raises(NoSuchImageError) as err:
            pull_to_layout(ref, tmp_path / "l", tls_verify=False)
        assert str(err.value).startswith(f"{ref}: image not known to registry {registry.host}")


def test_pull_from_closed_port(tmp_path: Path) -> None:
    ref = f"127.0.0.1:{free_port()}/test/busy:1"
    with pytest.raises(RegistryError) as err:
        pull_to_layout(ref, tmp_path / "l", tls_verify=False)
    assert type(err.value) is RegistryError
    assert str(err.value).startswith(f"pull {ref}: cannot reach registry 127.0.0.1:")
    assert "connection refused" in str(err.value)


def test_pull_plain_http_with_tls_verify(registry: LocalRegistry, tmp_path: Path) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    with pytest.raises(RegistryError, match=r"speaks plain http, not https: use "
                       r"--tls-verify=false"):
        pull_to_layout(ref, tmp_path / "l")


def test_auth_file_from_the_environment(auth_registry: LocalRegistry, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Without auth_file skopeo reads $REGISTRY_AUTH_FILE, as podman does.
    assert auth_registry.auth_file is not None
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_registry.auth_file))
    ref = f"{auth_registry.host}/{TEST_REPO}:{TEST_TAG}"
    name = pull_to_layout(ref, tmp_path / "l", tls_verify=False)
    assert len(layout_layers(tmp_path / "l", name)) == TEST_LAYERS


def test_auth_registry(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    ref = f"{auth_registry.host}/{TEST_REPO}:{TEST_TAG}"
    with pytest.raises(RegistryAuthError) as err:
        pull_to_layout(ref, tmp_path / "l", tls_verify=False,
                       auth_file=str(auth_file_for(tmp_path / "none.json", "elsewhere:1")))
    assert str(err.value).startswith(f"pull {ref}: registry {auth_registry.host} refused access")
    wrong = auth_file_for(tmp_path / "wrong.json", auth_registry.host, USER, PASSWORD + "x")
    with pytest.raises(RegistryAuthError):
        pull_to_layout(ref, tmp_path / "l", tls_verify=False, auth_file=str(wrong))
    assert auth_registry.auth_file is not None
    good = str(auth_registry.auth_file)
    name = pull_to_layout(ref, tmp_path / "l", tls_verify=False, auth_file=good)
    assert len(layout_layers(tmp_path / "l", name)) == TEST_LAYERS
    with pytest.raises(RegistryAuthError, match=r"^push "):
        push_from_layout(tmp_path / "l", name, f"{auth_registry.host}/other:1",
                         tls_verify=False, auth_file=str(wrong))
    push_from_layout(tmp_path / "l", name, f"{auth_registry.host}/other:1", tls_verify=False,
                     auth_file=good)
    assert auth_registry.tags("other") == ["1"]


def test_local_mistakes(registry: LocalRegistry, tmp_path: Path) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    with pytest.raises(InvalidArgumentError, match="credential file is not accessible"):
        pull_to_layout(ref, tmp_path / "l", tls_verify=False, auth_file=str(tmp_path / "no"))
    with pytest.raises(InvalidArgumentError, match="may not contain ':'"):
        pull_to_layout(ref, tmp_path / "a:b", tls_verify=False)
    with pytest.raises(InvalidArgumentError, match="not an OCI layout"):
        push_from_layout(tmp_path, "x", ref, tls_verify=False)
    name = pull_to_layout(ref, tmp_path / "l", tls_verify=False)
    with pytest.raises(NoSuchImageError, match="not in the OCI layout"):
        push_from_layout(tmp_path / "l", name + "-nope", ref, tls_verify=False)
    with pytest.raises(InvalidArgumentError, match="push to a tag"):
        push_from_layout(tmp_path / "l", name, f"{registry.host}/x@{DIGEST}", tls_verify=False)
