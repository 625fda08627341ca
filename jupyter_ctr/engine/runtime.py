"""Runtime: the engine's entry point (libpod's Runtime). Daemonless: any number of processes
may construct a Runtime on the same roots and work on the same containers at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from . import cgroups, limits
from .container import Container
from .errors import (
    ContainerExistsError,
    ContainerRemovedError,
    CtrError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchExecSessionError,
    NoSuchImageError,
)
from .events import Event, EventLog
from .locks import ContainerLock
from .oci import OCIRuntime, parse_signal
from .parsing import (
    check_name,
    check_path_length,
    merge_env,
    parse_command,
    parse_env,
    parse_memory,
    parse_restart_policy,
)
from .records import (
    NAME_PATTERN,
    NETWORK_MODES,
    ContainerConfig,
    ContainerRecord,
    event_attributes,
)
from .state import UNSETTLED, ContainerState
from .storage import ContainerStorage, join_lowers, remove_mounted_tree, remove_tree
from .store import StateStore

# What only creating containers needs is imported where it is used: conmon's exit command
# (engine/cleanup.py) loads this module at every container exit; typing and datetime are for
# type checkers only (importing them costs every CLI command ~3 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import Any, BinaryIO

    from .checkpoint import CheckpointArchive, CheckpointOptions, CheckpointStats
    from .exec import ExecSession
    from .images import Image, ImageStore
    from .images.records import ImageRemoveReport
    from .records import ContainerSnapshot
    from .settings import EngineSettings
    from .settled_watch import SettledWatch

#: A container id (also the name of its directories).
_ID_RE = re.compile(r"[0-9a-f]{64}")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Staging directories of archive restores, in ``<root>/containers`` (engine/staging.py).
RESTORE_STAGING_PREFIX = ".restore-"

_ADJECTIVES = ("brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid",
               "merry", "nifty", "proud", "quirky", "sharp", "tender", "vivid", "witty", "zen")
_NOUNS = ("babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "kepler",
          "lovelace", "noether", "pascal", "ritchie", "shannon", "turing", "wozniak")


#: The exit command's shell prelude: $1 is a claim file ("PID STARTTIME"), the rest is the
#: Python cleanup. With no claim, the cleanup runs. With one, the prelude waits while the
#: claiming process lives: it removes the claim once it has cleaned up (then nothing is left to
#: do), or marks it released if it gave up; if it dies, or after 30 s, the cleanup runs.
EXIT_SCRIPT = ('c=$1; shift; if [ -e "$c" ]; then n=0; '
               'while [ -e "$c" ] && [ "$n" -lt 3000 ]; do '
               'pid=; read -r pid _ < "$c" 2>/dev/null; '
               'kill -0 "${pid:-none}" 2>/dev/null || break; sleep 0.01; n=$((n + 1)); done; '
               '[ -e "$c" ] || exit 0; fi; exec "$@"')


class Runtime:
    """Containers, images and events under one pair of roots.

    Args:
        root: persistent state (default ``/var/lib/jupyter-ctr`` or ``$JUPYTER_CTR_ROOT``).
        run_root: volatile state (default ``/run/jupyter-ctr`` or ``$JUPYTER_CTR_RUNROOT``).
        config: an ``EngineConfig`` (traitlets) for everything else, or any object with its
            attributes (``EngineSettings``); default ``Settings()`` (engine/settings.py).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 run_root: str | os.PathLike[str] | None = None, *,
                 config: EngineSettings | None = None) -> None:
        if config is None:
            from .settings import Settings  # noqa: PLC0415 - lazy: callers pass settings

            config = Settings()
        self.config: EngineSettings = config
        self.root = Path(root or self.config.root).absolute()
        self.run_root = Path(run_root or self.config.run_root).absolute()
        for d in (self.root, self.root / "containers", self.run_root, self.run_root / "locks",
                  self.run_root / "exits", self.run_root / "socks", self.run_root / "runc",
                  self.run_root / "bundles", self.run_root / "claims"):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socks_dir = self.run_root / "socks"
        self.locks_dir = self.run_root / "locks"
        self.containers_dir = self.root / "containers"
        self.claims_dir = self.run_root / "claims"
        self.store = StateStore(self.root / "state.db")
        self._shared = _Shared()
        self._events = EventLog(self.store)
        #: (uid, name) of who acts through this Runtime; None: this process's user, found
        #: when first needed. ``acting_as`` makes a view for another user.
        self._actor: tuple[int, str] | None = None
        #: Where the actor's actions come from (``acting_as``): event attributes.
        self._origin: dict[str, str] = {}
        #: The only owner whose containers this Runtime sees (None: every owner's).
        self._owner_scope: int | None = None
        # Daemonless: every engine start-up is the moment to finish what a killed create or
        # remove left behind (a listing of three directories when there is nothing to do).
        self.sweep_orphans()

    # -- layout ---------------------------------------------------------------------------
    @property
    def oci(self) -> OCIRuntime:
        """The OCI runtime and conmon, found on PATH when first run (RuntimeMissingError if
        absent)."""
        if self._shared.oci is None:
            self._shared.oci = OCIRuntime(
                self.config.runtime, self.config.conmon,
                state_dir=self.run_root / "runc", exits_dir=self.run_root / "exits",
                socks_dir=self.socks_dir, shortcuts=self.config.runtime_shortcuts)
        return self._shared.oci

    @property
    def images(self) -> ImageStore:
        """The image store (imported on first use: the exit command never needs it)."""
        if self._shared.images is None:
            from .images import (  # noqa: PLC0415 - lazy: the exit command needs no images
                ArchiveLimits,
                ImageStore,
            )

            self._shared.images = ImageStore(self.root, self.store,
                                             ArchiveLimits.from_settings(self.config))
        return self._shared.images

    # -- who acts -------------------------------------------------------------------------
    @property
    def actor(self) -> tuple[int, str]:
        """(uid, login name) of the user acting through this Runtime: every event it writes
        names them (attributes ``user`` and ``uid``) and what it creates is theirs. This
        process's user unless this is an ``acting_as`` view."""
        if self._actor is None:
            self._actor = (os.getuid(), user_name(os.getuid()))
        return self._actor

    @property
    def owner_scope(self) -> int | None:
        """The uid whose containers alone this Runtime sees, or None for all."""
        return self._owner_scope

    def acting_as(self, uid: int, name: str, *, owner_scope: int | None = None,
                  origin: Mapping[str, str] | None = None) -> Runtime:
        """A view of this Runtime (the same roots, store, images and OCI runtime) for
        another user: it records ``uid``/``name`` as the actor of its events (and
        ``origin``, where the action came from: ``pid``, ``client``) and the owner of the
        containers it creates. With ``owner_scope`` it sees only that uid's containers (and
        exec sessions and events): lookups of others' fail exactly as lookups of missing
        ones, lists leave them out. Cheap: the service makes one per call."""
        view = object.__new__(Runtime)
        view.__dict__.update(self.__dict__)
        view._actor = (uid, name)
        view._owner_scope = owner_scope
        view._origin = dict(origin or {})
        return view

    def sees(self, config: ContainerConfig) -> bool:
        """Whether this Runtime's owner scope includes the container with ``config``."""
        return self._owner_scope is None or config.owner_uid == self._owner_scope

    def lock_path(self, ctr_id: str) -> Path:
        return self.locks_dir / f"{ctr_id}.lock"

    def bundle_dir(self, ctr_id: str) -> Path:
        return self.run_root / "bundles" / ctr_id

    def cgroups_path(self, ctr_id: str) -> str:
        """The container's cgroup path (under the configured parent, every hierarchy)."""
        return f"{self.config.cgroup_parent.rstrip('/')}/{ctr_id}"

    def container_dir(self, ctr_id: str) -> Path:
        return self.containers_dir / ctr_id

    def exit_command(self, ctr_id: str, run_token: str = "") -> list[str]:
        """What conmon runs when the container exits: our cleanup, even with no engine alive.

        ``run_token`` names one init of the container: a late exit command of an earlier run
        must not tear down the run that followed it.
        """
        # -S: no site-packages scan at every container exit; exit_command_env() puts exactly
        # this package on the path instead.
        cfg = self.config
        python = [sys.executable, "-S", "-m", "jupyter_ctr.engine.cleanup", "--root",
                  str(self.root), "--run-root", str(self.run_root), "--runtime", cfg.runtime,
                  "--conmon", cfg.conmon, "--criu", cfg.criu, "--cgroup-parent",
                  cfg.cgroup_parent]
        python += [] if cfg.runtime_shortcuts else ["--no-runtime-shortcuts"]
        python += ["--run", run_token, ctr_id]
        if not run_token:
            return python
        # A live engine process that is stopping this very run cleans up itself and says so
        # in a claim file holding its pid (Container._claim_cleanup): then /bin/sh waiting for
        # it is all the exit costs, not a Python start (~100 ms of CPU competing with that
        # cleanup).
        return ["/bin/sh", "-c", EXIT_SCRIPT, "jupyter-ctr-exit",
                str(self.claim_path(ctr_id, run_token)), *python]

    def claim_path(self, ctr_id: str, run_token: str) -> Path:
        """The file by which an engine process stopping run ``run_token`` tells that run's exit
        command that it does the cleanup itself."""
        return self.claims_dir / f"{ctr_id}-{run_token}"

    @staticmethod
    def exit_command_env() -> dict[str, str]:
        """Environment for conmon, so the exit command (``python -S``, no site-packages)
        imports this very package; it needs nothing else outside the standard library."""
        paths = [str(Path(__file__).resolve().parents[2])]
        current = os.environ.get("PYTHONPATH")
        return {"PYTHONPATH": os.pathsep.join(paths + ([current] if current else []))}

    # -- images ---------------------------------------------------------------------------
    def import_image(self, path: str | os.PathLike[str], reference: str) -> Image:
        """Import a rootfs tarball or an OCI layout/archive as ``reference``."""
        image = self.images.import_image(Path(path), reference)
        self.write_event("image", "import", image.id, reference, reference)
        return image

    def list_images(self) -> list[Image]:
        return self.images.list()

    def get_image(self, reference: str) -> Image:
        return self.images.get(reference)

    def remove_image(self, reference: str, *, force: bool = False) -> ImageRemoveReport:
        """``podman rmi``: by one of the image's names, untag that name (an image event
        ``untag``); by its last name or its id, remove the image (event ``remove``), refused
        while a container uses it; by id with several names only with ``force``
        (ImageStore.remove_reference)."""
        report = self.images.remove_reference(reference, self._image_users, force=force)
        if report.removed:
            self.write_event("image", "remove", report.id, reference, reference)
        else:
            for name in report.untagged:
                self.write_event("image", "untag", report.id, name, name)
        return report

    def pull_image(self, reference: str, *, tls_verify: bool = True,
                   auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> Image:
        """Pull a registry image (``podman pull``; see ImageStore.pull)."""
        image = self.images.pull(reference, tls_verify=tls_verify, auth_file=auth_file,
                                 progress=progress)
        self.write_event("image", "pull", image.id, reference, reference)
        return image

    def push_image(self, reference: str, destination: str | None = None, *,
                   tls_verify: bool = True, auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> str:
        """Push an image to a registry (``podman push``); the manifest digest there."""
        image = self.images.get(reference)
        digest = self.images.push(reference, destination, tls_verify=tls_verify,
                                  auth_file=auth_file, progress=progress)
        self.write_event("image", "push", image.id, destination or reference, reference)
        return digest

    def load_images(self, path: str | os.PathLike[str]) -> list[Image]:
        """Add the images of a docker-archive, oci-archive or OCI layout (``podman load``)."""
        images = self.images.load(Path(path))
        for image in images:
            name = image.names[0] if image.names else image.id
            self.write_event("image", "loadfromarchive", image.id, name, name)
        return images

    def save_images(self, references: Sequence[str], dest: BinaryIO | str | os.PathLike[str],
                    *, format: str = "docker-archive",  # noqa: A002 - podman's flag
                    compress: bool = False) -> None:
        """Write images to an archive (a binary file) or an OCI layout directory (a path,
        with ``format="oci-dir"``), like ``podman save``."""
        ids = [self.images.get(ref).id for ref in references]
        target = Path(dest) if isinstance(dest, (str, os.PathLike)) else dest
        self.images.save(list(references), target, format=format, compress=compress)
        for ref, image_id in zip(references, ids, strict=True):
            self.write_event("image", "save", image_id, ref, ref)

    def _image_users(self, image_id: str) -> list[str]:
        return [cfg["name"] for _, cfg, _ in self.store.all_containers()
                if cfg.get("image_id") == image_id]

    # -- commit, history, prune ---------------------------------------------------------
    def commit_container(self, ctr: Container | str, reference: str | None = None, *,
                         changes: Sequence[str] = (), message: str = "", author: str = "",
                         pause: bool = True) -> Image:
        """A new image: ``ctr``'s image with the container's changes as one more layer
        (``podman commit``), named ``reference`` (none: a dangling image). ``changes`` are
        Dockerfile instructions for the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
        ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR); ``message`` and ``author`` go into its
        history. A RUNNING container is paused meanwhile with ``pause`` (and unpaused
        after). Any state but REMOVING; records a container event ``commit`` (podman's).
        Raises InvalidArgumentError for a bad change or reference."""
        from .images.commit import commit_container  # noqa: PLC0415 - lazy: tarfile, shlex: commit only

        if isinstance(ctr, str):
            ctr = self.lookup_container(ctr)
        image = commit_container(self, ctr, reference, changes=changes, message=message,
                                 author=author, pause=pause)
        self.write_event("container", "commit", ctr.id, ctr.name, ctr.config.image,
                         event_attributes(ctr.config, committed=image.id))
        return image

    def image_history(self, reference: str) -> list[dict[str, Any]]:
        """``podman image history``: ImageStore.history of the image ``reference`` names."""
        return self.images.history(self.images.get(reference))

    # -- tag, untag ------------------------------------------------------------------------
    def tag_image(self, reference: str, target: str) -> Image:
        """``podman tag``: add the name ``target`` to the image ``reference`` names (the name
        moves if another image has it); records an image event ``tag`` (podman's)."""
        before = self.images.get(reference)
        image = self.images.tag(before.id, target)
        added = [n for n in image.names if n not in before.names] or image.names[-1:]
        name = added[0] if added else target
        self.write_event("image", "tag", image.id, name, name)
        return image

    def untag_image(self, reference: str, names: Sequence[str] = ()) -> Image:
        """``podman untag``: remove ``names`` (none: all its names) from the image
        ``reference`` names; the image stays. One image event ``untag`` per name (podman's).
        Raises NoSuchImageError for a name the image does not have."""
        from .images.references import normalize_reference  # noqa: PLC0415 - lazy: untag only

        image = self.images.get(reference)
        doomed = [normalize_reference(n) for n in names] if names else list(image.names)
        for name in doomed:
            if name not in image.names:
                raise NoSuchImageError(f"{name}: tag not known (image {image.id[:12]} has "
                                       f"{', '.join(image.names) or 'no names'})")
        for name in doomed:
            self.images.untag(name)
            self.write_event("image", "untag", image.id, name, name)
        return self.images.get(image.id)

    def prune_images(self, all: bool = False) -> list[Image]:  # noqa: A002 - podman's flag
        """``podman image prune [-a]``: remove dangling images (every unused one with
        ``all``) that no container uses, and the layers left unused; the images removed.
        Records an image event ``remove`` for each (as podman)."""
        before = {img.id: img for img in self.images.list()}
        removed = self.images.prune(all, self._image_users)
        for image_id in removed:
            self.write_event("image", "remove", image_id, image_id, image_id)
        return [before[i] for i in removed if i in before]

    # -- containers -----------------------------------------------------------------------
    def create_container(
        self, image: str, command: Sequence[str] | str | None = None, *,
        name: str | None = None, env: Mapping[str, str] | Sequence[str] | None = None,
        workdir: str | None = None, user: str | None = None, tty: bool = False,
        stdin: bool = False, labels: Mapping[str, str] | None = None,
        stop_signal: str | int | None = None, stop_timeout: int = 10,
        memory: int | str | None = None, pids_limit: int | None = None,
        cpus: float | None = None, network: str = "none", auto_remove: bool = False,
        restart_policy: str = "no", depends_on: Sequence[str | Container] = (),
        log_size_max: int | str | None = None, entrypoint: Sequence[str] | None = None,
    ) -> Container:
        """Create a container (state CONFIGURED) from an image. Validates everything first."""
        from .logs import parse_log_size  # noqa: PLC0415 - lazy: only create needs them (exit command start-up)
        from .spec import resolve_user  # noqa: PLC0415 - lazy: as above

        img = self.images.get(image)
        # As Docker and podman: an explicit entrypoint replaces the image's and drops its Cmd.
        image_cmd = img.config.get("Cmd") or [] if entrypoint is None else []
        entrypoint = list(img.config.get("Entrypoint") or []) if entrypoint is None \
            else [str(e) for e in entrypoint]
        if command is None:
            command = [*entrypoint, *image_cmd]
            empty = (f"no command specified and image {img.names[0] if img.names else img.id} "
                     "has none: give a command to run")
            args = parse_command(command, empty)
        else:
            # As podman: a command replaces the image's Cmd, after its Entrypoint.
            args = [*entrypoint, *parse_command(
                command, "no command specified: the command must not be empty")]
        name = self._generate_name() if name is None else check_name(name)
        if network not in NETWORK_MODES:
            raise InvalidArgumentError(
                f"invalid network mode {network!r}: use one of {', '.join(NETWORK_MODES)}")
        wd = workdir or img.config.get("WorkingDir") or "/"
        if not wd.startswith("/") or "\0" in wd:
            raise InvalidArgumentError(f"working directory {wd!r} must be an absolute path")
        check_path_length("the working directory", wd)
        lowers = self.images.layer_dirs(img)
        uid, gid, _ = resolve_user(lowers[::-1], user or img.config.get("User") or None)
        if not isinstance(stop_timeout, int) or stop_timeout < 0:
            raise InvalidArgumentError(f"stop timeout must be a non-negative integer, "
                                       f"got {stop_timeout!r}")
        limits.check("stop timeout", stop_timeout, 0, limits.TIMEOUT_MAX)
        mem = parse_memory(memory)
        log_size = parse_log_size(log_size_max)  # --log-opt max-size: conmon rotates the log
        if pids_limit is not None and (not isinstance(pids_limit, int) or pids_limit <= 0):
            raise InvalidArgumentError(f"pids limit must be a positive integer, got {pids_limit!r}")
        if pids_limit is not None:
            limits.check("pids limit", pids_limit, 1, limits.PIDS_MAX)
        if cpus is not None:
            if not isinstance(cpus, (int, float)) or not 0 < cpus <= (os.cpu_count() or 1):
                raise InvalidArgumentError(
                    f"cpus must be > 0 and at most the host's {os.cpu_count()} cpus, got {cpus!r}")
        policy, retries = parse_restart_policy(restart_policy)
        if policy != "no" and auto_remove:
            raise InvalidArgumentError("a restart policy cannot be combined with auto-remove")
        dependencies = []
        for dep in depends_on:
            dep_ctr = dep if isinstance(dep, Container) else self.lookup_container(dep)
            dependencies.append(dep_ctr.id)
        image_env = [DEFAULT_PATH, *(img.config.get("Env") or [])]
        config = ContainerConfig(
            id=os.urandom(32).hex(),  # secrets.token_hex, without importing hmac/hashlib
            name=name, image=img.names[0] if img.names else img.id,
            image_id=img.id, image_rootfs=join_lowers(lowers), command=args,
            env=merge_env(image_env, [("TERM", "xterm")] if tty else [],
                          [("container", "oci")], parse_env(env)),
            workdir=wd, user=user or "", uid=uid, gid=gid, tty=bool(tty), stdin=bool(stdin),
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            stop_signal=parse_signal(stop_signal or img.config.get("StopSignal") or "SIGTERM"),
            stop_timeout=stop_timeout, memory=mem,
            pids_limit=pids_limit, cpus=cpus, network=network, auto_remove=bool(auto_remove),
            created=time.time_ns(), restart_policy=policy, restart_retries=retries,
            dependencies=dependencies, log_size_max=log_size, owner_uid=self.actor[0],
            owner_name=self.actor[1])
        return self.add_container(config.validate(), ContainerRecord())

    def add_container(self, config: ContainerConfig, state: ContainerRecord) -> Container:
        """Create a validated container's storage and record (create, checkpoint import).

        Both happen under the new id's lock, so that ``sweep_orphans`` never takes a
        directory whose create is still in flight; a create killed between the two leaves a
        directory without a record, which the next sweep removes.
        """
        ctr_id, name = config.id, config.name
        ctr = Container(self, ctr_id, config)
        with ContainerLock(self.lock_path(ctr_id)):
            try:
                ContainerStorage(self.container_dir(ctr_id), Path(config.image_rootfs)).create()
                self.store.add_container(ctr_id, name, config.to_dict(), state.to_dict())
            except BaseException:
                remove_tree(self.container_dir(ctr_id), ignore_errors=True)
                raise
        self.write_event("container", "create", ctr_id, name, config.image,
                         event_attributes(config))
        return ctr

    def sweep_orphans(self) -> list[str]:
        """Remove what a create or remove killed mid-way left without a container record:
        storage directories, bundles and the runtime's state directories. Each id is taken
        under its lock and checked again there, so a create in flight (which holds the lock
        from before its directory exists) is never touched. Returns the ids swept."""
        candidates: set[str] = set()
        staging = False
        for parent in (self.root / "containers", self.run_root / "bundles",
                       self.run_root / "runc"):
            with contextlib.suppress(FileNotFoundError):
                for entry in os.listdir(parent):
                    if _ID_RE.fullmatch(entry):
                        candidates.add(entry)
                    elif entry.startswith(RESTORE_STAGING_PREFIX):
                        staging = True
        if staging:  # an archive restore in flight, or one killed mid-way
            from .staging import sweep_staging  # noqa: PLC0415 - lazy: CLI start-up (rarely needed)

            sweep_staging(self.root / "containers", RESTORE_STAGING_PREFIX)
        if not candidates:
            return []
        known = self.store.container_ids()
        swept = []
        for ctr_id in sorted(candidates - known):
            lock = ContainerLock(self.lock_path(ctr_id))
            if not lock.try_acquire():
                continue  # a create in flight
            try:
                if self.store.container_exists(ctr_id):
                    continue
                self._remove_orphan(ctr_id)
                lock.remove_file()
                swept.append(ctr_id)
            finally:
                lock.release()
        return swept

    def _remove_orphan(self, ctr_id: str) -> None:
        state_dir = self.run_root / "runc" / ctr_id
        if state_dir.is_dir() and not state_dir.is_symlink():
            with contextlib.suppress(CtrError):
                self.oci.delete(ctr_id, force=True)
        for path in (state_dir, self.bundle_dir(ctr_id), self.container_dir(ctr_id)):
            remove_mounted_tree(path)
        cgroups.remove_cgroup(self.cgroups_path(ctr_id))

    def _generate_name(self) -> str:
        taken = {cfg["name"] for _, cfg, _ in self.store.all_containers()}
        for _ in range(100):
            # os.urandom, not the random module: its import costs every create ~1 ms
            adjective, noun = os.urandom(2)
            candidate = f"{_ADJECTIVES[adjective % len(_ADJECTIVES)]}_{_NOUNS[noun % len(_NOUNS)]}"
            if candidate not in taken:
                return candidate
        return f"ctr_{os.urandom(4).hex()}"

    def lookup_container(self, name_or_id: str) -> Container:
        """Find a container by name, full id or unique id prefix."""
        if not isinstance(name_or_id, str) or not name_or_id:
            raise NoSuchContainerError("container name or ID cannot be empty")
        ctr_id, config = self.store.lookup_container(name_or_id, owner_uid=self._owner_scope)
        return Container(self, ctr_id, ContainerConfig.from_dict(config))

    def lookup_exec(self, exec_id: str) -> ExecSession:
        """Find an exec session by its full ID (libpod's GetExecSessionContainer). Raises
        NoSuchExecSessionError, also when its container is gone."""
        if not isinstance(exec_id, str) or not _ID_RE.fullmatch(exec_id):
            raise NoSuchExecSessionError(f"no exec session with ID {exec_id!r} found")
        ctr_id, _, _ = self.store.exec_session(exec_id)
        if self._owner_scope is not None and not self.store.container_owned_by(
                ctr_id, self._owner_scope):
            raise NoSuchExecSessionError(f"no exec session with ID {exec_id} found")
        try:
            ctr = self.lookup_container(ctr_id)
        except NoSuchContainerError:
            raise NoSuchExecSessionError(f"no exec session with ID {exec_id} found: its "
                                         f"container {ctr_id[:12]} is gone") from None
        return ctr.exec_session(exec_id)

    def list_containers(self, all: bool = False) -> list[Container]:  # noqa: A002 - podman's flag
        """Running containers, or every container with ``all``, each one's state read now
        (``Container.glance``: synced under its lock only when it needs it). Without ``all``
        only the rows whose stored state may be running are read."""
        states = None if all else {s.value for s in UNSETTLED}
        out = []
        for ctr_id, config, state in self._container_rows(states=states):
            ctr = Container(self, ctr_id, config)
            try:
                now = ctr.glance(json.loads(state))
            except ContainerRemovedError:
                continue
            if all or now in (ContainerState.RUNNING, ContainerState.PAUSED):
                out.append(ctr)
        return out

    def list_views(self, *, states: Iterable[ContainerState] | None = None,
                   **where: Any) -> list[tuple[Container, ContainerSnapshot]]:
        """The containers this runtime sees, each with its reading for a list
        (``Container.list_view``: lock-free unless it needs a sync), oldest first.
        ``states``: only the containers that may be in one of them (those whose state a
        sync may change are read too: the caller checks the state it gets); ``where``: more
        SQL conditions (``StateStore.select_containers``: id_prefixes, name_globs, labels,
        owners), which may leave in more than they describe, never less."""
        wanted = None if states is None else {s.value for s in (*states, *UNSETTLED)}
        rows = self._container_rows(states=wanted, **where)
        execs = self.store.live_exec_ids() if rows else {}
        shared = self._shared
        shared.lists += 1
        if shared.lists == 2 and shared.watch is None:
            shared.watch = self._start_settled_watch()
        if shared.watch is not None:
            shared.watch.refresh()
        records = shared.records
        out = []
        for ctr_id, config, state in rows:
            # A record is decoded again only when its stored text changed (a list's records
            # are read-only: a verb reads its own).
            cached = records.get(ctr_id)
            if cached is None or cached[0] != state:
                cached = records[ctr_id] = (state, ContainerRecord.from_dict(json.loads(state)))
            ctr = Container(self, ctr_id, config, cached[1])
            try:
                out.append((ctr, ctr.list_view(execs.get(ctr_id, []))))
            except ContainerRemovedError:
                continue
        if len(records) > len(shared.configs):
            for gone in set(records) - set(shared.configs):
                records.pop(gone, None)
        return out

    def usage(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``Container.stats()`` of each running or paused container this runtime sees (of
        ``ids`` only, when given), by ID, without their locks: one state store query and a
        few file reads each (cgroups.UsageReader), what a view refreshing every second asks.
        A container whose cgroup is gone meanwhile (it stopped) is left out."""
        wanted = None if ids is None else set(ids)
        shared = self._shared
        out = {}
        with shared.usage_lock:  # a reader's kept fds are revalidated while no read runs
            reader = shared.usage_reader
            if reader is None:
                reader = shared.usage_reader = cgroups.UsageReader(self.config.cgroup_parent)
            reader.revalidate()
            for ctr_id, name, _ in self.store.running_containers(owner_uid=self._owner_scope):
                if wanted is not None and ctr_id not in wanted:
                    continue
                got = reader.read(ctr_id)
                if got is not None:
                    out[ctr_id] = {"id": ctr_id, "name": name, "cpu_ns": got.cpu_ns,
                                   "memory_bytes": got.memory_bytes,
                                   "memory_limit": got.memory_limit, "pids": got.pids,
                                   "time_ns": time.time_ns()}
        return out

    @property
    def settled_watch(self) -> SettledWatch | None:
        """What lets ``Container.settled`` skip its checks (engine/settled_watch.py): kept
        from this process's second list on (a command that lists once does not pay for it),
        None before or where the kernel cannot give one."""
        return self._shared.watch

    def _start_settled_watch(self) -> SettledWatch | None:
        from .settled_watch import SettledWatch  # noqa: PLC0415 - lazy: see settled_watch

        try:
            return SettledWatch(str(self.oci.exits_dir))
        except OSError:  # no exits directory yet, out of descriptors or inotify instances
            return None

    def container_handles(self) -> list[Container]:
        """Every container this runtime sees, not synced yet: for callers that sync each one
        themselves anyway (a ``snapshot()`` locks and syncs), which ``list_containers`` would
        make sync twice. A handle whose container is removed meanwhile raises
        ContainerRemovedError from its verbs."""
        return [Container(self, ctr_id, config)
                for ctr_id, config, _ in self._container_rows()]

    def _container_rows(self, **where: Any) -> list[tuple[str, ContainerConfig, str]]:
        """The containers this runtime sees that ``where`` selects
        (``StateStore.select_containers``): (id, config, stored state as JSON). A config is
        decoded once per container and kept: it never changes (a container made again with
        the same ID is another row, created later)."""
        known = self._shared.configs
        out = []
        for ctr_id, created, config, state in self.store.select_containers(
                owner_uid=self._owner_scope, **where):
            cached = known.get(ctr_id)
            if cached is None or cached[0] != created:
                cached = known[ctr_id] = (created, ContainerConfig.from_dict(json.loads(config)))
            out.append((ctr_id, cached[1], state))
        if len(known) > len(out) and not where and self._owner_scope is None:
            # Every row seen: forget the removed containers' configs.
            for gone in set(known) - {row[0] for row in out}:
                known.pop(gone, None)
        return out

    def remove_container(self, ctr: Container | str, force: bool = False,
                         timeout: int | None = None) -> None:
        """Remove a container and everything it owns (``Container.remove``)."""
        if isinstance(ctr, str):
            ctr = self.lookup_container(ctr)
        ctr.remove(force=force, timeout=timeout)

    def dependents(self, ctr_id: str) -> list[Container]:
        """The containers that depend on ``ctr_id`` (created with it in depends_on)."""
        return [Container(self, cid, ContainerConfig.from_dict(cfg))
                for cid, cfg, _ in self.store.all_containers()
                if ctr_id in (cfg.get("dependencies") or [])]  # every owner's: all must go

    def restore_container(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None, **kw: Any) -> Container:
        """Create a container from a checkpoint archive and restore it: it runs when this
        returns (podman ``container restore --import``). Without ``name`` it keeps the
        archived ID and name; ``kw`` are CheckpointOptions fields. See ``import_checkpoint``."""
        return self.import_checkpoint(archive, name, options, **kw)[0]

    def import_checkpoint(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None, *,
                          vet: Callable[[ContainerConfig], ContainerConfig] | None = None,
                          **kw: Any) -> tuple[Container, CheckpointStats]:
        """``restore_container``, with the restore's stats (podman's restore report).
        ``vet`` sees the archive's container config (validated, owned by the importer)
        before anything runs: it raises to refuse it, or returns the config to use (a
        policy's limits, service/rules.py).

        Without ``name`` (here or in the options) the container keeps the archived ID and
        name, like a migration; with one it gets a new ID, so one archive can be restored many
        times. Raises InvalidArgumentError for a missing, corrupt, truncated or unsafe archive,
        ContainerExistsError when the name or ID is taken, NoSuchImageError when the image is
        neither here nor in the archive. On any failure nothing is left behind.
        """
        from .checkpoint.archive import (  # noqa: PLC0415 - lazy: CLI start-up
            CHECKPOINT_DIR,
            read_archive,
        )
        from .checkpoint.criu import find_criu  # noqa: PLC0415 - lazy: CLI start-up
        from .checkpoint.options import (  # noqa: PLC0415 - lazy: CLI start-up
            check_options,
            check_restore_runtime,
            merge_options,
        )
        from .staging import staging_dir  # noqa: PLC0415 - lazy: CLI start-up

        opts = merge_options(options, kw)
        name = opts.name if name is None else name
        check_options(opts, "restore", self.config.criu)
        path = self._import_source(archive, name, "restore from", "checkpoint")
        origin = str(path)
        find_criu(self.config.criu)  # before anything is extracted or imported: a missing
        check_restore_runtime(opts, self.oci)  # CRIU or runc option fails at once
        started = time.monotonic()
        ctr: Container | None = None
        imported_image = ""
        with staging_dir(self.root / "containers", RESTORE_STAGING_PREFIX) as staging:
            try:
                info = read_archive(path, staging, origin, self.images.limits)
                ctr_id, ctr_name = self._archive_identity(info, name)
                image, imported = self._checkpoint_image(info)
                imported_image = image.id if imported else ""  # removed again on failure
                config = self._archive_config(info, ctr_id, ctr_name, image, vet)
                state = ContainerRecord(
                    checkpointed=True, checkpointed_at=info.checkpointed_at,
                    checkpoint_path=str(self.container_dir(ctr_id) / CHECKPOINT_DIR))
                ctr = self.add_container(config, state)
                stats = ctr.restore(opts, from_archive=info)
            except BaseException:
                if ctr is not None:
                    with contextlib.suppress(CtrError):
                        self.remove_container(ctr, force=True, timeout=0)
                if imported_image:
                    with contextlib.suppress(CtrError):
                        self.remove_image(imported_image, force=True)
                raise
        stats.archive_size = path.stat().st_size
        stats.total_duration = int((time.monotonic() - started) * 1_000_000)
        return ctr, stats

    def _archive_identity(self, info: CheckpointArchive, name: str | None) -> tuple[str, str]:
        """The ID and name a container from an archive gets: the archived ones without
        ``name`` (ContainerExistsError if that ID is here), else a new ID."""
        context = f"{info.origin}: config.dump"
        if not re.match(NAME_PATTERN, info.name):
            raise InvalidArgumentError(f"{context} has an invalid container name")
        if not isinstance(info.config, dict):
            raise InvalidArgumentError(f"{context} has no container config")
        if info.config.get("dependencies"):
            raise InvalidArgumentError(
                f"{context} has an invalid dependencies: containers with dependencies "
                "cannot be restored from an archive")
        if name is None:
            if self.store.container_exists(info.id):
                raise ContainerExistsError(
                    f"cannot restore {info.origin} with its own ID: container "
                    f"{info.id[:12]} exists here already; restore it under a new name")
            return info.id, info.name
        return os.urandom(32).hex(), name

    def _archive_config(self, info: CheckpointArchive, ctr_id: str, ctr_name: str,
                        image: Image, vet: Callable[[ContainerConfig], ContainerConfig] | None
                        ) -> ContainerConfig:
        """The archive's settings, checked as create's are (and by ``vet``); identity, image
        and time are this engine's."""
        context = f"{info.origin}: config.dump"
        config = ContainerConfig.from_untrusted({
            **info.config, "id": ctr_id, "name": ctr_name,
            "image": image.names[0] if image.names else image.id,
            "image_id": image.id,
            "image_rootfs": join_lowers(self.images.layer_dirs(image)),
            "created": time.time_ns(), "dependencies": [],
            # the importer owns the copy, whoever owned the archived container
            "owner_uid": self.actor[0], "owner_name": self.actor[1]},
            context).validate(context)
        if vet is not None:
            config = vet(config).validate(context)
        return config

    def import_snapshot(self, path: str | os.PathLike[str], name: str | None = None, *,
                        vet: Callable[[ContainerConfig], ContainerConfig] | None = None
                        ) -> Container:
        """A new container from an exported timeline snapshot (Container.export_snapshot):
        a checkpoint one is restored and runs (as ``restore_container``), a filesystem one is
        created from the image with the snapshot's files (CONFIGURED: start it). ``name``
        and ``vet`` as in ``import_checkpoint``; untrusted input, checked as it is; on any
        failure nothing is left behind."""
        from .checkpoint.archive import read_archive  # noqa: PLC0415 - lazy: CLI start-up
        from .staging import staging_dir  # noqa: PLC0415 - lazy: CLI start-up
        from .timeline import apply_diff  # noqa: PLC0415 - lazy: CLI start-up

        source = self._import_source(path, name, "import", "snapshot")
        origin = str(source)
        with staging_dir(self.root / "containers", RESTORE_STAGING_PREFIX) as staging:
            info = read_archive(source, staging, origin, self.images.limits,
                                require_checkpoint=False)
            if info.has_checkpoint:
                remove_tree(staging, ignore_errors=True)  # read again by the restore
                return self.import_checkpoint(source, name, vet=vet)[0]
            ctr: Container | None = None
            imported_image = ""
            try:
                ctr_id, ctr_name = self._archive_identity(info, name)
                image, imported = self._checkpoint_image(info)
                imported_image = image.id if imported else ""
                config = self._archive_config(info, ctr_id, ctr_name, image, vet)
                ctr = self.add_container(config, ContainerRecord())
                storage = ContainerStorage(self.container_dir(ctr_id),
                                           Path(config.image_rootfs))
                with ContainerLock(self.lock_path(ctr_id)):
                    rootfs = storage.mount()
                    try:
                        apply_diff(info.root, rootfs, self.images.limits, origin)
                    finally:
                        storage.unmount()
            except BaseException:
                if ctr is not None:
                    with contextlib.suppress(CtrError):
                        self.remove_container(ctr, force=True, timeout=0)
                if imported_image:
                    with contextlib.suppress(CtrError):
                        self.remove_image(imported_image)
                raise
        return ctr

    def _checkpoint_image(self, info: CheckpointArchive) -> tuple[Image, bool]:
        """The image to restore an archive on: this root's copy, or the archive's (imported;
        True then)."""
        src = info.image
        with contextlib.suppress(NoSuchImageError):
            return self.images.get(src["id"]), False
        label = f"{src['names'][0]} ({src['id'][:12]})" if src["names"] else src["id"][:12]
        tarball = info.image_tarball
        if tarball is None:
            raise NoSuchImageError(
                f"cannot restore {info.origin}: its image {label} is not in this engine's "
                "store and the archive does not include it (it was exported with "
                "include_image=False): import the image first")
        with contextlib.suppress(NoSuchImageError):
            return self.images.get(info.image_tarball_id), False  # restored here before
        free = next((n for n in src["names"] if self.store.image_id_for_name(n) is None), None)
        ref = free or f"localhost/jupyter-ctr-restore-{os.urandom(6).hex()}:latest"
        image = self.images.import_image(tarball, ref, config=src["config"])
        if free is None:  # the archived name belongs to another image here: leave it alone
            self.images.untag(ref)
            image = self.images.get(image.id)
        self.write_event("image", "import", image.id, ref, ref)
        return image, True

    def _import_source(self, archive: str | os.PathLike[str], name: str | None, verb: str,
                       kind: str) -> Path:
        """The archive a restore or import reads (absolute), once ``name`` (if any) is valid
        and free and the archive is an existing regular file."""
        if name is not None:
            check_name(name)
        path = Path(os.fspath(archive)).absolute()
        if not path.is_file():
            raise InvalidArgumentError(f"cannot {verb} {path}: no such {kind} archive "
                                       "(not an existing regular file)")
        if name is not None and self._name_taken(name):
            raise ContainerExistsError(f"the container name {name!r} is already in use: "
                                       "choose another name")
        return path

    def _name_taken(self, name: str) -> bool:
        return any(cfg.get("name") == name for _, cfg, _ in self.store.all_containers())

    # -- events ---------------------------------------------------------------------------
    def events(self, since: float | datetime | None = None,
               until: float | datetime | None = None,
               filters: Mapping[str, Sequence[str]] | None = None, follow: bool = False,
               stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[Event]:
        """The engine's events in order (libpod Runtime.Events); with ``follow``, new ones as
        they come, until ``until`` (unix time or datetime) or ``stop`` (an Event, or a
        callable) says so. ``filters``: container, event, type, image, label.
        Raises InvalidArgumentError for an unknown filter."""
        if isinstance(stop, threading.Event):
            stop = stop.is_set
        return self._events.read(since=since, until=until, filters=filters, follow=follow,
                                 stop=stop, owner=self._owner_scope)

    @property
    def event_log(self) -> EventLog:
        """The event log every view of this Runtime shares: ``read_after``, ``last_seq`` and
        ``listeners``, for a follower that fans events out (service/event_hub.py)."""
        return self._events

    def write_event(self, type_: str, action: str, obj_id: str, name: str, image: str,
                    attributes: Mapping[str, str] | None = None) -> None:
        """Record an event (every verb's, containers' and images'), with the actor as
        attributes ``user`` and ``uid``."""
        uid, user = self.actor
        self._events.record(type_, action, obj_id, name, image,
                            {**(attributes or {}), **self._origin, "user": user,
                             "uid": str(uid)})

    def close(self) -> None:
        watch, self._shared.watch = self._shared.watch, None
        if watch is not None:
            watch.close()
        with self._shared.usage_lock:
            reader, self._shared.usage_reader = self._shared.usage_reader, None
        if reader is not None:
            reader.close()
        self.store.close()


class _Shared:
    """What a Runtime makes on first use and its ``acting_as`` views share."""

    __slots__ = ("configs", "images", "lists", "oci", "records", "usage_lock", "usage_reader",
                 "watch")

    def __init__(self) -> None:
        self.images: ImageStore | None = None
        self.oci: OCIRuntime | None = None
        #: Container id -> (its row's created, its config): decoded once (``_container_rows``).
        self.configs: dict[str, tuple[float, ContainerConfig]] = {}
        #: Container id -> (its stored state's text, its record) as the last list read it.
        self.records: dict[str, tuple[str, ContainerRecord]] = {}
        self.lists = 0
        self.watch: SettledWatch | None = None
        self.usage_reader: cgroups.UsageReader | None = None  # ``usage``: made on first use
        self.usage_lock = threading.Lock()


def user_name(uid: int) -> str:
    """The login name of ``uid`` (the number as text when it has no passwd entry)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


__all__ = ["Runtime", "CtrError"]
