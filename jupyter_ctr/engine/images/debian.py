"""A Debian image for labs: a rootfs tarball built by mmdebstrap from Debian's packages.

mmdebstrap (Debian's package) does the work: it fetches the packages from the Debian mirror
this machine's apt uses (nothing else is contacted), installs them in a chroot and writes the
result as a tarball. The tarball is cached under a name made from the build's inputs, so the
next build with the same inputs is free; the caller imports it as an image.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from pathlib import Path

from .. import procs
from ..errors import ImageBuildError, InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

DEFAULT_SUITE = "bookworm"
#: Python with pip and venv for the labs; ping for the network lessons (its file capability,
#: cap_net_raw, is what lets a non-root user ping).
DEFAULT_PACKAGES = ("python3", "python3-pip", "python3-venv", "iputils-ping")
DEFAULT_CACHE_DIR = Path("/var/cache/jupyter-ctr/debian")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
VARIANT = "minbase"
#: mmdebstrap's options besides the suite and packages. No ./dev in the tarball (device nodes
#: and /proc links): the runtime mounts a fresh /dev, as for any image. What a container never
#: reads is left out, as Debian's slim images do; copyrights stay.
MMDEBSTRAP_OPTIONS = (
    "--skip=output/dev",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
)
#: Bump when the recipe changes in a way the inputs below do not show.
RECIPE = 1
BUILD_TIMEOUT = 3600.0
_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
_PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_SUITE_RE = re.compile(r"[a-z]+")


def cache_key(suite: str, packages: Iterable[str]) -> dict[str, object]:
    """The inputs that name a build (the mirror is not one: any mirror serves the same)."""
    return {"recipe": RECIPE, "suite": suite, "variant": VARIANT,
            "packages": sorted(set(packages)), "options": list(MMDEBSTRAP_OPTIONS)}


def tarball_path(cache_dir: Path, suite: str, packages: Iterable[str]) -> Path:
    """Where the tarball for these inputs is cached."""
    key = json.dumps(cache_key(suite, packages), sort_keys=True).encode()
    return cache_dir / f"debian-{suite}-{hashlib.sha256(key).hexdigest()[:16]}.tar"


def host_mirrors(suite: str, sources: Sequence[Path] = _SOURCES) -> list[str]:
    """sources.list lines for ``suite`` (and its -updates and -security) from this machine's
    apt sources, so that mmdebstrap downloads from where apt does; Debian's own mirror when
    apt has none for the suite."""
    files: list[Path] = []
    for path in sources:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".list", ".sources"))
        elif path.is_file():
            files.append(path)
    wanted = (suite, f"{suite}-updates", f"{suite}-security")
    lines: list[str] = []
    for file in files:
        try:
            text = file.read_text(errors="replace")
        except OSError:
            continue
        entries = _deb822_entries(text) if file.suffix == ".sources" else _one_line_entries(text)
        for uri, entry_suite, components in entries:
            if entry_suite in wanted:
                line = f"deb {uri} {entry_suite} {' '.join(components) or 'main'}"
                if line not in lines:
                    lines.append(line)
    return lines or [f"deb {DEFAULT_MIRROR} {suite} main"]


def _one_line_entries(text: str) -> list[tuple[str, str, list[str]]]:
    entries = []
    for raw in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", raw.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            entries.append((line[1], line[2], line[3:]))
    return entries


def _deb822_entries(text: str) -> list[tuple[str, str, list[str]]]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get(
                "enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for entry_suite in fields.get("suites", "").split():
                entries.append((uri, entry_suite, fields.get("components", "").split()))
    return entries


def build_debian_rootfs(cache_dir: Path = DEFAULT_CACHE_DIR, *, suite: str = DEFAULT_SUITE,
                        packages: Sequence[str] = DEFAULT_PACKAGES, rebuild: bool = False,
                        progress: Callable[[str], None] | None = None,
                        mirrors: Sequence[str] | None = None,
                        mmdebstrap: str | None = None) -> Path:
    """The cached rootfs tarball of a Debian ``suite`` (minbase) with ``packages``: built with
    mmdebstrap when missing or when ``rebuild``, else returned at once.

    ``mirrors`` are sources.list lines (default: this machine's apt sources for the suite, see
    :func:`host_mirrors`); ``progress`` gets mmdebstrap's progress lines. Needs root
    (mmdebstrap's chroot mode). Two builds of the same inputs at once wait for each other;
    a failed build leaves nothing in the cache. Raises ImageBuildError when mmdebstrap fails.
    """
    if not _SUITE_RE.fullmatch(suite):
        raise InvalidArgumentError(f"invalid Debian suite {suite!r}: a codename like bookworm")
    bad = [p for p in packages if not _PACKAGE_RE.fullmatch(p)]
    if bad or not packages:
        raise InvalidArgumentError(
            f"invalid Debian package names: {', '.join(map(repr, bad)) or 'none given'}")
    tool = procs.find_binary("mmdebstrap", mmdebstrap)
    if os.geteuid() != 0:
        raise InvalidArgumentError("building a Debian image needs root (mmdebstrap's chroot)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = tarball_path(cache_dir, suite, packages)
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build of the same tarball finishes first
        if out.is_file() and not rebuild:
            return out
        sources = list(mirrors) if mirrors is not None else host_mirrors(suite)
        partial = out.with_name(f".{out.stem}.{os.getpid()}.tar")  # .tar: mmdebstrap's format
        argv = [tool, "--mode=root", f"--variant={VARIANT}", "--format=tar",
                f"--include={','.join(sorted(set(packages)))}",
                *MMDEBSTRAP_OPTIONS,
                suite, str(partial), *sources]
        started = time.monotonic()

        def on_line(line: str) -> None:
            if progress is not None and line.strip():
                progress(line.removeprefix("I: ").strip())

        try:
            status, lines = procs.run_lines(argv, on_line, timeout=BUILD_TIMEOUT)
            if status != 0:
                errors = [ln for ln in lines if ln.startswith("E: ")] or lines[-5:]
                raise ImageBuildError(
                    f"mmdebstrap could not build Debian {suite} with {', '.join(packages)} "
                    f"(exit {status}): {' | '.join(errors)}")
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        out.with_suffix(".json").write_text(json.dumps({
            **cache_key(suite, packages), "mirrors": sources,
            "seconds": round(time.monotonic() - started, 1), "built": time.time()}, indent=1))
    return out
