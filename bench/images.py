#!/usr/bin/env python3
"""Image benchmark: load, pull, create on a many-layer image, and disk use, against podman.

Measurements (each side into an EMPTY store for every load and pull sample):

  load-oci     load an oci-archive with gzip layers (as registries hold them): ours
               ``Runtime.load_images`` in-process (``transfer.load`` where the Runtime has
               no such method yet), podman ``podman load -i``
  load-docker  the same image as a docker-archive (plain layers, what ``podman save`` writes)
  pull         from a local registry (Debian's ``docker-registry`` on 127.0.0.1, plain http):
               ours ``Runtime.pull_image`` (else ``registry.pull_to_layout``, skopeo, then
               ``transfer.load`` of that layout), podman ``podman pull --tls-verify=false``
  create       a busybox image of 10 layers: ``jupyter-ctr create`` against ``podman create``
               (processes), the engine's ``Runtime.create_container`` in-process; then start
               and ``stop -t 0`` (``rm`` untimed)
  disk         bytes on disk (``du``) with one image loaded, then with a second one sharing
               its base layers (each is the base plus one small layer of its own)

The image is this machine's cached Debian rootfs (``engine/images/debian.py``: Debian 12
minbase with python3, built by ``build_debian_rootfs`` when missing) split into 4 layers
(usr/lib/x86_64-linux-gnu, usr/lib/python3*, usr/share, the rest), built offline with umoci
and skopeo. ``--quick`` uses a busybox rootfs split into 3 layers instead (a smoke run).

Samples are interleaved, the order alternating per round, so a noisy machine hits both sides
alike; medians are compared. Podman runs with ``CONTAINERS_CONF=bench/containers.conf`` on
private roots (a fresh ``--root`` per load and pull sample), with the overlay driver when it
works here (else vfs, said in the table). Everything is removed at the end, also on errors and
Ctrl-C; the table's last row says what was left behind.

Targets (ratios of medians): load and pull at most 1.0x podman's. Exit status: 0; 1 when a
side failed or something was left behind; 2 with ``--check`` when a target is missed; 130
when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lifecycle
from lifecycle import (
    REPO,
    CommandError,
    Skip,
    cgroup_dirs,
    kill_pids,
    mounts_under,
    pids_referencing,
    remove_new_cgroups,
    rmtree,
    run,
    wait_quiet,
    which,
)

MEASURES = ("load-oci", "load-docker", "pull", "create", "disk")
TARGETS = {"load-oci": 1.0, "load-docker": 1.0, "pull": 1.0}  # ours / podman, medians, <=
#: The Debian rootfs's layers after the first (which has every directory and the rest).
DEBIAN_SPLIT = (("usr/lib/x86_64-linux-gnu/",), ("usr/lib/python3",), ("usr/share/",))
QUICK_SPLIT = (("bin/busybox",), ("etc/",))
BIG = "localhost/bench/big:1"
SHARE_A, SHARE_B = "localhost/bench/share-a:1", "localhost/bench/share-b:1"
TEN = "localhost/bench/ten:1"
TEN_LAYERS = 10
REMOTE_REPO, REMOTE_TAG = "bench/big", "1"


def log(msg: str) -> None:
    print(f"images: {msg}", file=sys.stderr, flush=True)


lifecycle.log = log  # the shared helpers' cleanup messages carry this script's prefix


def _engine_modules() -> tuple[Any, Any, Any]:
    """jupyter_ctr.engine with its images.transfer and images.registry (the checkout's, when
    the package is not installed) and the tests' registry helper."""
    engine = lifecycle._import_engine()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from jupyter_ctr.engine.images import registry, transfer
    return engine, transfer, registry


# -- image material -----------------------------------------------------------------------

def split_rootfs(src: Path, out: Path, groups: Sequence[tuple[str, ...]]) -> list[Path]:
    """Split a rootfs tarball into ``len(groups) + 1`` layer tarballs: layer ``i + 1`` holds
    the files under the prefixes of ``groups[i]``, layer 0 every directory and the rest. A
    hard link goes with its target. Members keep their headers (owners, modes, xattrs)."""
    paths = [out / f"layer{i}.tar" for i in range(len(groups) + 1)]
    where: dict[str, int] = {}
    tars = [tarfile.open(p, "w", format=tarfile.PAX_FORMAT) for p in paths]
    try:
        with tarfile.open(src, "r|") as tin:
            for member in tin:
                name = member.name.removeprefix("./")
                if member.isdir():
                    idx = 0
                elif member.islnk():
                    idx = where.get(member.linkname.removeprefix("./"), 0)
                else:
                    idx = next((i + 1 for i, prefixes in enumerate(groups)
                                if name.startswith(prefixes)), 0)
                where[name] = idx
                tars[idx].addfile(member, tin.extractfile(member) if member.isreg() else None)
    finally:
        for tar in tars:
            tar.close()
    return paths


def small_layer(path: Path, files: dict[str, bytes]) -> Path:
    """An uncompressed layer tarball with ``files`` (their parent directories included)."""
    with tarfile.open(path, "w") as tar:
        dirs = sorted({str(Path(n).parent) for n in files} - {"."})
        for name in dirs:
            info = tarfile.TarInfo(name + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


class Material:
    """The images both sides get, as an OCI layout (gzip layers) and as archives."""

    def __init__(self, work: Path, quick: bool) -> None:
        self.work, self.quick = work, quick
        self.umoci, self.skopeo = which("umoci"), which("skopeo")
        self.layout = work / "layout"
        self.archives: dict[str, Path] = {}
        self.sizes: dict[str, int] = {}  # uncompressed bytes of the layers, gzip bytes
        self.layer_count = 0

    def _umoci(self, *args: str) -> None:
        run([self.umoci, *args], timeout=600)

    def _skopeo_to(self, tag: str, transport: str, name: str, ref: str) -> Path:
        path = self.work / name
        run([self.skopeo, "copy", "--quiet", f"oci:{self.layout}:{tag}",
             f"{transport}:{path}:{ref}"], timeout=600)
        return path

    def build(self) -> None:
        _engine_modules()  # the checkout on the path
        from jupyter_ctr.engine.images import debian, demo
        if self.quick:
            rootfs = self.work / "busybox-rootfs.tar"
            demo.write_tarball(demo.find_static_busybox(None), rootfs)
            groups: Sequence[tuple[str, ...]] = QUICK_SPLIT
        else:
            rootfs = debian.build_debian_rootfs(progress=log)
            groups = DEBIAN_SPLIT
        log(f"splitting {rootfs} into {len(groups) + 1} layers")
        split_dir = self.work / "split"
        split_dir.mkdir()
        layers = split_rootfs(rootfs, split_dir, groups)
        self.layer_count = len(layers)
        self.sizes["plain"] = sum(p.stat().st_size for p in layers)
        log("building the OCI layout (umoci, gzip layers)")
        self._umoci("init", "--layout", str(self.layout))
        self._umoci("new", "--image", f"{self.layout}:big")
        for layer in layers:
            self._umoci("raw", "add-layer", "--image", f"{self.layout}:big", str(layer))
        self._umoci("config", "--image", f"{self.layout}:big", "--config.cmd", "/bin/sh",
                    "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                    "/sbin:/bin")
        for tag, text in (("share-a", b"a\n"), ("share-b", b"b\n")):
            self._umoci("tag", "--image", f"{self.layout}:big", tag)
            extra = small_layer(split_dir / f"{tag}.tar", {f"srv/{tag}": text * 1000})
            self._umoci("raw", "add-layer", "--image", f"{self.layout}:{tag}", str(extra))
        self._umoci("new", "--image", f"{self.layout}:ten")
        self._umoci("raw", "add-layer", "--image", f"{self.layout}:ten",
                    str(self._busybox_layer(split_dir)))
        for i in range(1, TEN_LAYERS):
            extra = small_layer(split_dir / f"ten{i}.tar", {f"etc/layer{i}": b"%d\n" % i})
            self._umoci("raw", "add-layer", "--image", f"{self.layout}:ten", str(extra))
        self._umoci("config", "--image", f"{self.layout}:ten", "--config.cmd", "/bin/sh",
                    "--config.env", "PATH=/bin")
        self._umoci("gc", "--layout", str(self.layout))
        rmtree(split_dir)
        self.sizes["gzip"] = self._gzip_bytes("big")
        log("writing the archives (skopeo)")
        self.archives["load-oci"] = self._skopeo_to("big", "oci-archive", "big-oci.tar", BIG)
        self.archives["load-docker"] = self._skopeo_to("big", "docker-archive",
                                                       "big-docker.tar", BIG)
        self.archives["share-a"] = self._skopeo_to("share-a", "oci-archive", "a.tar", SHARE_A)
        self.archives["share-b"] = self._skopeo_to("share-b", "oci-archive", "b.tar", SHARE_B)
        self.archives["ten"] = self._skopeo_to("ten", "oci-archive", "ten.tar", TEN)
        for path in self.archives.values():  # into the page cache: no cold first sample
            with open(path, "rb") as f:
                while f.read(1 << 20):
                    pass

    def _busybox_layer(self, where: Path) -> Path:
        from jupyter_ctr.engine.images import demo
        path = where / "ten0.tar"
        demo.write_tarball(demo.find_static_busybox(None), path)
        return path

    def _gzip_bytes(self, tag: str) -> int:
        import json
        index = json.loads((self.layout / "index.json").read_text())
        desc = next(m for m in index["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
        blobs = self.layout / "blobs" / "sha256"
        manifest = json.loads((blobs / desc["digest"].split(":", 1)[1]).read_text())
        return sum(int(layer["size"]) for layer in manifest["layers"])

    def describe(self) -> str:
        what = "busybox" if self.quick else "Debian 12 minbase + python3"
        return (f"{what}, {self.layer_count} layers, {self.sizes['plain'] / 1e6:.0f} MB "
                f"uncompressed, {self.sizes['gzip'] / 1e6:.0f} MB gzip")


def disk_bytes(paths: Sequence[Path]) -> int:
    """Bytes of disk blocks under ``paths`` (``du``: a hard-linked file counts once)."""
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return 0
    out = run(["du", "-s", "-c", "-B1", *existing], out=True)
    return int(out.strip().splitlines()[-1].split()[0])


# -- our side -----------------------------------------------------------------------------

class Ours:
    """The engine in-process, on a fresh pair of roots per sample."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.engine, self.transfer, self.registry = _engine_modules()
        self.count = 0

    def fresh(self) -> tuple[Any, Path]:
        self.count += 1
        base = self.top / f"s{self.count}"
        base.mkdir()
        return self.engine.Runtime(root=base / "root", run_root=base / "run"), base

    def drop(self, rt: Any, base: Path) -> None:
        with contextlib.suppress(Exception):
            rt.close()
        rmtree(base)

    def load(self, archive: Path) -> float:
        rt, base = self.fresh()
        try:
            t0 = time.perf_counter()
            if hasattr(rt, "load_images"):  # the Python API, once there
                rt.load_images(archive)
            else:
                self.transfer.load(rt.images, archive)
            return time.perf_counter() - t0
        finally:
            self.drop(rt, base)

    def pull(self, ref: str) -> tuple[float, float]:
        """(seconds in skopeo's copy to a layout, seconds loading that layout and deleting it)."""
        rt, base = self.fresh()
        try:
            if hasattr(rt, "pull_image"):  # the Python API, once there
                return self._pull_api(rt, ref)
            layout = base / "pull"
            t0 = time.perf_counter()
            name = self.registry.pull_to_layout(ref, layout, tls_verify=False)
            t1 = time.perf_counter()
            images = self.transfer.load(rt.images, layout)
            shutil.rmtree(layout)
            t2 = time.perf_counter()
            if not images:
                raise RuntimeError(f"pulled {name}, but its layout loaded no image")
            return t1 - t0, t2 - t1
        finally:
            self.drop(rt, base)

    @staticmethod
    def _pull_api(rt: Any, ref: str) -> tuple[float, float]:
        """``Runtime.pull_image``: skopeo's part ends at its "Writing manifest" line."""
        copied: list[float] = []

        def progress(line: str) -> None:
            if line.startswith("Writing manifest"):
                copied.append(time.perf_counter())
        t0 = time.perf_counter()
        rt.pull_image(ref, tls_verify=False, progress=progress)
        t2 = time.perf_counter()
        t1 = copied[-1] if copied else t0
        return t1 - t0, t2 - t1


# -- podman -------------------------------------------------------------------------------

class Podman(lifecycle.PodmanStore):
    """Private podman stores under one temp dir: a kept one (``c``) for the container
    measurements, and throw-away ones for each load and pull sample."""

    def __init__(self, bench: Bench) -> None:
        super().__init__(bench)  # type: ignore[arg-type]  # it only calls workdir()
        self.driver = ""
        self.driver_note = ""
        self.count = 0

    def ensure(self) -> None:
        if self.ready:
            return
        self.podman, self.runc = which("podman"), which("runc")
        self.host_before = {p: os.path.lexists(p) for p in self.HOST_PATHS}
        self.dir = self.bench.workdir("p")
        conf = REPO / "bench" / "containers.conf"
        if not conf.exists():
            conf = self.dir / "containers.conf"
            conf.write_text(lifecycle.PODMAN_CONF)
        self.conf = conf
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.driver = self._pick_driver()
        self.base, self.root = self.store_argv("c")
        self.run_root = self.dir / "c-run"
        self.ready = True

    def store_argv(self, name: str) -> tuple[list[str], Path]:
        assert self.dir is not None
        root = self.dir / name
        return [self.podman, "--root", str(root), "--runroot", str(self.dir / f"{name}-run"),
                "--tmpdir", str(self.dir / f"{name}-tmp"), "--storage-driver", self.driver,
                "--events-backend", "none"], root

    def _pick_driver(self) -> str:
        """overlay, as podman uses by default as root, when it works here; else vfs."""
        self.driver = "overlay"
        argv, root = self.store_argv("probe")
        try:
            got = run([*argv, "info", "--format", "{{.Store.GraphDriverName}}"], env=self.env,
                      out=True).strip()
            if got == "overlay":
                return "overlay"
            self.driver_note = f"podman's overlay driver answered {got!r}"
        except CommandError as exc:
            self.driver_note = f"podman's overlay driver fails here: {exc}"
        finally:
            self.drop(argv, root)
        log(f"note: {self.driver_note}; using vfs (a full copy per layer: not comparable)")
        return "vfs"

    def fresh(self) -> tuple[list[str], Path]:
        self.count += 1
        return self.store_argv(f"s{self.count}")

    def drop(self, argv: list[str], root: Path) -> None:
        with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
            run([*argv, "system", "reset", "-f"], env=self.env)
        assert self.dir is not None
        for path in (root, self.dir / f"{root.name}-run", self.dir / f"{root.name}-tmp"):
            rmtree(path)

    def timed(self, argv: list[str]) -> float:
        t0 = time.perf_counter()
        run(argv, env=self.env, timeout=1800)
        return time.perf_counter() - t0

    def load(self, archive: Path) -> float:
        argv, root = self.fresh()
        try:
            return self.timed([*argv, "load", "-q", "-i", str(archive)])
        finally:
            self.drop(argv, root)

    def pull(self, ref: str) -> float:
        argv, root = self.fresh()
        try:
            return self.timed([*argv, "pull", "-q", "--tls-verify=false", ref])
        finally:
            self.drop(argv, root)


# -- the benchmark ------------------------------------------------------------------------

class Bench:
    def __init__(self, measures: Sequence[str], runs: int, warmup: int, quick: bool) -> None:
        self.measures = list(measures)
        self.runs, self.warmup, self.quick = runs, warmup, quick
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jci", dir="/var/tmp"))  # disk, not tmpfs
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.disk: dict[tuple[str, str], int] = {}
        self.failed: dict[str, str] = {}
        self.material: Material | None = None
        self.ours: Ours | None = None
        self.podman: Podman | None = None
        self.registry: Any = None
        self.remote = ""
        self.sides: dict[str, Any] = {}  # create: cli.Side per CLI, and the engine's Runtime
        self.left: list[str] = []

    def workdir(self, name: str) -> Path:
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def _fail(self, key: str, phase: str, exc: BaseException) -> None:
        first = str(exc).splitlines()[0] if str(exc) else ""
        self.failed[key] = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{key}: {phase} failed:\n{''.join(traceback.format_exception(exc))}")

    def add(self, measure: str, side: str, seconds: float) -> None:
        self.samples.setdefault((measure, side), []).append(seconds)

    # -- setup ----------------------------------------------------------------------------
    def setup(self) -> None:
        self.material = Material(self.workdir("m"), self.quick)
        self.material.build()
        self.ours = Ours(self.workdir("o"))
        try:
            self.podman = Podman(self)
            self.podman.ensure()
        except Skip as exc:
            self.failed["podman"] = f"skipped: {exc}"
            self.podman = None
        if "pull" in self.measures:
            try:
                self._start_registry()
            except Exception as exc:  # noqa: BLE001 - reported, the other measures go on
                self._fail("pull", "registry setup", exc)
        if "create" in self.measures:
            try:
                self._setup_create()
            except Exception as exc:  # noqa: BLE001 - reported, the other measures go on
                self._fail("create", "setup", exc)

    def _start_registry(self) -> None:
        from tests.engine.images.registry import REGISTRY_BIN, LocalRegistry
        if REGISTRY_BIN is None:
            raise Skip("docker-registry is not installed")
        assert self.material is not None
        self.registry = LocalRegistry(self.workdir("reg")).start()
        log(f"pushing the image to {self.registry.host} (skopeo)")
        self.remote = self.registry.push_layout(self.material.layout, "big", REMOTE_REPO,
                                                REMOTE_TAG)

    def _setup_create(self) -> None:
        import cli
        lifecycle.log = log  # importing cli.py set its own prefix
        assert self.material is not None and self.ours is not None
        ten = self.material.archives["ten"]
        # the CLI's store: the image loaded in-process, then used by the console script
        odir = self.workdir("c")
        rt = self.ours.engine.Runtime(root=odir / "root", run_root=odir / "run")
        try:
            self.ours.transfer.load(rt.images, ten)
        finally:
            rt.close()
        script = Path(sys.executable).parent / "jupyter-ctr"
        prog = [str(script)] if script.exists() else [sys.executable, "-m", "jupyter_ctr.cli"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(odir / "pycache")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", ""))
                                            if p)
        side = cli.Side("cli", [*prog, "--root", str(odir / "root"), "--runroot",
                                str(odir / "run")], env, TEN, [odir])
        side.run("ps")  # fills the pycache
        self.sides["cli"] = side
        # the engine in-process, on its own roots
        edir = self.workdir("e")
        self.engine_dir = edir
        self.rt = self.ours.engine.Runtime(root=edir / "root", run_root=edir / "run")
        self.ours.transfer.load(self.rt.images, ten)
        if self.podman is not None:
            p = self.podman
            run([*p.base, "load", "-q", "-i", str(ten)], env=p.env)
            self.sides["podman"] = cli.Side("podman", p.base, p.env, TEN, [p.dir])

    # -- measuring ------------------------------------------------------------------------
    def measure(self) -> None:
        for measure in self.measures:
            if measure in self.failed:
                continue
            log(f"measuring {measure}")
            try:
                if measure == "disk":
                    self._disk()
                elif measure == "create":
                    self._rounds(measure, self._create_calls())
                else:
                    self._rounds(measure, self._transfer_calls(measure))
            except Exception as exc:  # noqa: BLE001 - reported, the other measures go on
                self._fail(measure, "measure", exc)

    def _transfer_calls(self, measure: str) -> dict[str, Callable[[], None]]:
        assert self.material is not None and self.ours is not None
        ours, podman = self.ours, self.podman
        if measure == "pull":
            def ours_pull() -> None:
                copy, load = ours.pull(self.remote)
                self.add("pull-copy", "ours", copy)
                self.add("pull-load", "ours", load)
                self.add("pull", "ours", copy + load)
            calls = {"ours": ours_pull}
            if podman is not None:
                calls["podman"] = lambda: self.add("pull", "podman", podman.pull(self.remote))
            return calls
        archive = self.material.archives[measure]
        calls = {"ours": lambda: self.add(measure, "ours", ours.load(archive))}
        if podman is not None:
            calls["podman"] = lambda: self.add(measure, "podman", podman.load(archive))
        return calls

    def _create_calls(self) -> dict[str, Callable[[], None]]:
        calls: dict[str, Callable[[], None]] = {}
        for key, side in self.sides.items():
            calls[key] = side.cycle

        def engine_cycle() -> None:
            t0 = time.perf_counter()
            c = self.rt.create_container(TEN, ["sleep", "1000"])
            t1 = time.perf_counter()
            c.start()
            t2 = time.perf_counter()
            c.stop(timeout=0)
            t3 = time.perf_counter()
            self.rt.remove_container(c)
            for step, dt in (("create", t1 - t0), ("start", t2 - t1), ("stop", t3 - t2)):
                self.add(step, "engine", dt)
            wait_quiet([self.engine_dir])
        calls["engine"] = engine_cycle
        return calls

    def _rounds(self, measure: str, calls: dict[str, Callable[[], None]]) -> None:
        keys = list(calls)
        for rnd in range(self.warmup + self.runs):
            timed = rnd >= self.warmup
            order = keys[rnd % len(keys):] + keys[:rnd % len(keys)]
            for key in order:
                if f"{measure}/{key}" in self.failed:
                    continue
                before = {k: len(v) for k, v in self.samples.items()}
                try:
                    calls[key]()
                except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
                    self._fail(f"{measure}/{key}", measure, exc)
                    continue
                if not timed:  # warm-up: forget what it added
                    for k, v in self.samples.items():
                        del v[before.get(k, 0):]
            log(f"{measure}: round {rnd + 1}/{self.warmup + self.runs} done")
        if measure == "create":  # cli.Side keeps its own samples
            for key, side in self.sides.items():
                for step in ("create", "start", "stop"):
                    vals = side.samples[step]
                    self.samples[(step, key)] = vals[len(vals) - self.runs:]

    def _disk(self) -> None:
        assert self.material is not None and self.ours is not None
        a, b = self.material.archives["share-a"], self.material.archives["share-b"]
        rt, base = self.ours.fresh()
        try:
            ours_dirs = [base / "root" / "images", base / "root" / "layers"]
            self.ours.transfer.load(rt.images, a)
            self.disk[("one", "ours")] = disk_bytes(ours_dirs)
            self.ours.transfer.load(rt.images, b)
            self.disk[("two", "ours")] = disk_bytes(ours_dirs)
        finally:
            self.ours.drop(rt, base)
        if self.podman is None:
            return
        p = self.podman
        argv, root = p.fresh()
        try:
            run([*argv, "load", "-q", "-i", str(a)], env=p.env, timeout=1800)
            self.disk[("one", "podman")] = disk_bytes([root])
            run([*argv, "load", "-q", "-i", str(b)], env=p.env, timeout=1800)
            self.disk[("two", "podman")] = disk_bytes([root])
        finally:
            p.drop(argv, root)

    # -- teardown -------------------------------------------------------------------------
    def teardown(self) -> None:
        for side in self.sides.values():
            with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
                left = side.run("ps", "-aq", out=True)[1].split() if side.key == "cli" else []
                if left:
                    log(f"cleanup: jupyter-ctr containers left: {len(left)}, removing them")
                    side.run("rm", "-f", *left)
        rt = getattr(self, "rt", None)
        if rt is not None:
            with contextlib.suppress(Exception):
                for c in rt.list_containers(all=True):
                    log(f"cleanup: engine container {c.id[:12]} left, removing it")
                    rt.remove_container(c, force=True, timeout=0)
            with contextlib.suppress(Exception):
                rt.close()
        if self.registry is not None:
            with contextlib.suppress(Exception):
                self.registry.stop()
        for name in ("c", "e"):
            path = self.top / name
            if path.exists():
                wait_quiet([path], timeout=5)
                kill_pids(pids_referencing([path]))
                with contextlib.suppress(Skip):
                    lifecycle.runc_delete_all(which("runc"), path / "run" / "runc")
        if self.podman is not None:
            try:
                self.podman.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: podman: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)
        self.left = self._left_behind()

    def _left_behind(self) -> list[str]:
        left = []
        if self.top.exists():
            left.append(f"dir {self.top}")
        left += [f"mount {m}" for m in mounts_under([self.top])]
        left += [f"process {pid}" for pid in pids_referencing([self.top])]
        return left

    # -- report ---------------------------------------------------------------------------
    def median(self, measure: str, side: str) -> float | None:
        vals = self.samples.get((measure, side))
        return statistics.median(vals) if vals else None

    def report(self) -> tuple[str, bool]:
        m = self.material
        driver = self.podman.driver if self.podman else "-"
        lines = [
            f"Images: median of {self.runs} runs per side after {self.warmup} warm-up, "
            f"interleaved ({platform.node()}, kernel {platform.release()}, "
            f"{os.cpu_count()} cpus); image: {m.describe() if m else '-'}; podman storage "
            f"driver {driver}",
            "",
            "| measure | jupyter-ctr | podman | ratio | target | met |",
            "|---|---:|---:|---:|---:|---|",
        ]
        all_met = True

        def row(title: str, ours: float | None, theirs: float | None, unit: str,
                target: float | None = None, scale: float = 1.0, fmt: str = ".2f") -> None:
            nonlocal all_met
            ratio = ours / theirs if ours is not None and theirs else None
            met = ""
            if target is not None:
                met = "n/a" if ratio is None else ("yes" if ratio <= target else "NO")
                all_met &= ratio is not None and ratio <= target

            def cell(v: float | None) -> str:
                return "-" if v is None else f"{v * scale:{fmt}} {unit}"
            lines.append(f"| {title} | {cell(ours)} | {cell(theirs)} | "
                         f"{'-' if ratio is None else f'{ratio:.2f}'} | "
                         f"{'' if target is None else f'<= {target}'} | {met} |")

        for measure, title in (("load-oci", "load oci-archive (gzip layers)"),
                               ("load-docker", "load docker-archive (plain layers)")):
            if measure in self.measures:
                row(title, self.median(measure, "ours"), self.median(measure, "podman"), "s",
                    TARGETS[measure])
        if "pull" in self.measures:
            row("pull from a local registry (http)", self.median("pull", "ours"),
                self.median("pull", "podman"), "s", TARGETS["pull"])
            row("  ours: skopeo copy to an OCI layout", self.median("pull-copy", "ours"),
                None, "s")
            row("  ours: load of that layout (+ delete)", self.median("pull-load", "ours"),
                None, "s")
        if "create" in self.measures:
            for step, title in (("create", "create, 10-layer image"),
                                ("start", "start"), ("stop", "stop -t 0")):
                row(f"{title}: CLI process", self.median(step, "cli"),
                    self.median(step, "podman"), "ms", scale=1000, fmt=".1f")
                row(f"{title}: engine in-process", self.median(step, "engine"),
                    self.median(step, "podman"), "ms", scale=1000, fmt=".1f")
        if "disk" in self.measures:
            mb = 1e6
            one_o, one_p = self.disk.get(("one", "ours")), self.disk.get(("one", "podman"))
            two_o, two_p = self.disk.get(("two", "ours")), self.disk.get(("two", "podman"))
            row("disk: one image (base + 1 small layer)", one_o and one_o / mb,
                one_p and one_p / mb, "MB", fmt=".1f")
            row("disk: two images sharing the base", two_o and two_o / mb,
                two_p and two_p / mb, "MB", fmt=".1f")
            add_o = two_o - one_o if two_o is not None and one_o is not None else None
            add_p = two_p - one_p if two_p is not None and one_p is not None else None
            row("disk: the second image adds", add_o and add_o / mb, add_p and add_p / mb,
                "MB", fmt=".2f")
        lines.append(f"| left behind after cleanup | "
                     f"{'; '.join(self.left) if self.left else 'nothing'} | | | nothing | "
                     f"{'NO' if self.left else 'yes'} |")
        notes = []
        if "disk" in self.measures:
            notes.append("disk: du -B1 of our images/ and layers/ dirs; of podman's whole "
                         f"--root ({driver} driver: layers, tar-split metadata, its db)")
        if self.podman and self.podman.driver_note:
            notes.append(self.podman.driver_note)
        for key, why in self.failed.items():
            notes.append(f"{key}: {why}")
        if notes:
            lines.append("")
            lines += [f"- {n}" for n in notes]
        return "\n".join(lines), all_met


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", "-n", type=int, default=3,
                   help="timed samples per side and measurement (default 3)")
    p.add_argument("--warmup", type=int, default=0, help="untimed rounds first (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="a small busybox image instead of Debian (a fast smoke run)")
    p.add_argument("--only", metavar="LIST", default="",
                   help="comma-separated subset of: " + ",".join(MEASURES))
    p.add_argument("--check", action="store_true", help="exit 2 when a target is missed")
    args = p.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        p.error("--runs must be >= 1 and --warmup >= 0")
    items = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in items if x not in MEASURES]
    if bad:
        p.error(f"unknown measurement(s) {', '.join(bad)}; choose from {', '.join(MEASURES)}")
    args.measures = [m for m in MEASURES if m in items] or list(MEASURES)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (overlay mounts, runc, rootful podman, mmdebstrap)")
        return 1
    bench = Bench(args.measures, args.runs, args.warmup, args.quick)
    log(f"temp dir {bench.top}")
    if lifecycle.run_guarded(bench.setup, bench.measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if bench.failed or bench.left:
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
