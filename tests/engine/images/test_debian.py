"""The Debian rootfs for labs (engine/images/debian.py): a real mmdebstrap build from the
machine's Debian mirror, cached under /var/cache/jupyter-ctr/debian (the first run takes a
minute or so, later runs find the tarball), and the pieces around it."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import ImageBuildError, InvalidArgumentError
from jupyter_ctr.engine.images import debian

needs_mmdebstrap = pytest.mark.skipif(
    shutil.which("mmdebstrap") is None or os.geteuid() != 0,
    reason="mmdebstrap (scripts/setup.sh installs it) and root are needed")


def test_host_mirrors_reads_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# a comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n"
        "deb-src http://mirror.example/debian bookworm main\n"
        "deb http://mirror.example/debian trixie main\n")
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.example/archive\nURIs: http://deb.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\n"
        "Types: deb\nURIs: http://deb.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n")
    (d / "other.list").write_text("deb https://vendor.example/apt nodistro main\n")
    (d / "ignored.save").write_text("deb http://old.example/debian bookworm main\n")
    assert debian.host_mirrors("bookworm", [tmp_path / "sources.list", d]) == [
        "deb http://mirror.example/debian bookworm main contrib",
        "deb http://deb.example/debian bookworm main",
        "deb http://deb.example/debian bookworm-updates main",
        "deb http://deb.example/debian-security bookworm-security main",
    ]
    assert debian.host_mirrors("sid", [tmp_path / "sources.list", d]) == [
        f"deb {debian.DEFAULT_MIRROR} sid main"]


def test_cache_name_depends_on_the_inputs_only(tmp_path: Path) -> None:
    a = debian.tarball_path(tmp_path, "bookworm", ["python3", "python3-pip"])
    assert a == debian.tarball_path(tmp_path, "bookworm", ["python3-pip", "python3", "python3"])
    assert a.parent == tmp_path and a.name.startswith("debian-bookworm-") and a.suffix == ".tar"
    assert a != debian.tarball_path(tmp_path, "bookworm", ["python3"])
    assert a != debian.tarball_path(tmp_path, "trixie", ["python3", "python3-pip"])


@pytest.mark.parametrize(("suite", "packages"), [
    ("bookworm; rm", ["python3"]), ("", ["python3"]), ("bookworm", ["Python3"]),
    ("bookworm", ["--option"]), ("bookworm", []),
])
def test_bad_inputs_are_refused(tmp_path: Path, suite: str, packages: list[str]) -> None:
    with pytest.raises(InvalidArgumentError):
        debian.build_debian_rootfs(tmp_path, suite=suite, packages=packages)
    assert list(tmp_path.iterdir()) == []


@needs_mmdebstrap
def test_failed_build_is_clear_and_leaves_nothing(tmp_path: Path) -> None:
    # A mirror that refuses connections fails at mmdebstrap's first step (apt-get update),
    # as a missing package fails later: both are exit statuses with E: lines.
    with pytest.raises(ImageBuildError) as err:
        debian.build_debian_rootfs(tmp_path, packages=["python3"],
                                   mirrors=["deb http://127.0.0.1:9/debian bookworm main"])
    message = str(err.value)
    assert message.startswith("mmdebstrap could not build Debian bookworm with python3 (exit ")
    assert "E: " in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]


@pytest.fixture(scope="module")
def python_rootfs() -> Path:
    """The default build, in the shared cache (built here when missing)."""
    lines: list[str] = []
    path = debian.build_debian_rootfs(debian.DEFAULT_CACHE_DIR, progress=lines.append)
    assert path == debian.tarball_path(debian.DEFAULT_CACHE_DIR, debian.DEFAULT_SUITE,
                                       debian.DEFAULT_PACKAGES)
    assert not any(line.startswith("I: ") for line in lines)
    return path


@needs_mmdebstrap
def test_python_rootfs(python_rootfs: Path) -> None:
    with tarfile.open(python_rootfs) as tar:
        members = {m.name.removeprefix("./"): m for m in tar}
    python = members["usr/bin/python3"]
    assert python.issym() and python.linkname.startswith("python3.")
    assert members[f"usr/bin/{python.linkname}"].isfile()
    for merged in ("bin", "lib", "sbin"):  # Debian 12's merged /usr
        assert members[merged].issym() and members[merged].linkname == f"usr/{merged}"
    assert members["usr/bin/pip3"].isfile()
    absolute = [m for m in members.values() if m.issym() and m.linkname.startswith("/")]
    assert absolute, "a Debian rootfs has absolute symlinks (/etc/alternatives/...)"
    ping = members["usr/bin/ping"]  # cap_net_raw, kept in the tarball's pax headers
    assert "SCHILY.xattr.security.capability" in ping.pax_headers
    assert not any(name.startswith(("usr/share/man/", "dev")) for name in members)
    assert not any(m.ischr() or m.isblk() for m in members.values())
    assert (python_rootfs.with_suffix(".json")).is_file()


@needs_mmdebstrap
def test_cached_build_is_not_redone(python_rootfs: Path) -> None:
    before = python_rootfs.stat()
    again = debian.build_debian_rootfs(
        debian.DEFAULT_CACHE_DIR, packages=list(reversed(debian.DEFAULT_PACKAGES)))
    assert again == python_rootfs
    after = again.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
