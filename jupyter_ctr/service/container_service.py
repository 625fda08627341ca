"""ContainerService: the one door from every front end (REST and websocket handlers, the
unix socket service, and later magics and widgets) to the engine.

Every method takes the ``Principal`` it acts for, looks its target up in one place
(``container``, ``exec_session``, ``image``), asks the ``Policy`` (``authorize(principal,
action, target)``) before the engine acts, and runs the engine call in the executors: one
pool hop per call, lookup and verb together. Streams (attach, exec, logs, events, export)
come back as async sources and feeds; the wire formats stay with the caller.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ..engine import ContainerState, Runtime
from ..engine.container import Container
from ..engine.errors import (
    ContainerStateInvalidError,
    InvalidArgumentError,
)
from ..engine.exec import ExecSession
from ..engine.images.registry import normalize_remote_reference
from ..engine.procinfo import host_cpu_ns
from ..engine.recordings import Recorder, RecordingStore
from ..engine.records import LAB_LABEL
from ..engine.state import ExecState
from .bridge import AttachBridge, BridgeLimits, get_bridge
from .door import Door
from .event_hub import EventHub, EventSubscription
from .executors import Executors
from .policy import Policy
from .sources import ContainerSource, ExecSource
from .stats import Pair, Reading, StatsSampler
from .streams import (
    StreamClosedError,
    ThreadFeed,
    iterate_in_thread,
    report_in_thread,
    write_in_thread,
)

if TYPE_CHECKING:
    import threading

    from ..engine.attach import AttachStream
    from ..engine.checkpoint import CheckpointOptions, CheckpointStats
    from ..engine.config import EngineConfig
    from ..engine.events import Event
    from ..engine.images import Image
    from ..engine.images.records import ImageRemoveReport
    from ..engine.logs import LogLine
    from ..engine.records import ContainerSnapshot
    from .door import Translate
    from .principal import Principal

T = TypeVar("T")
S = ContainerState

#: Container verbs run by ``act``: verb -> True when it may block for seconds (the long pool).
VERBS: dict[str, bool] = {
    "start": False, "stop": True, "kill": True, "pause": False, "unpause": False,
    "restart": True, "init": False, "mount": False, "unmount": False, "resize": False,
    "top": False,
}

#: The save formats that stream as one file (oci-dir is a directory).
STREAMED_SAVE_FORMATS = ("docker-archive", "oci-archive")


#: The Door's timeline verbs ContainerService.timeline runs.
TIMELINE_VERBS = frozenset({"snapshot", "snapshots", "rewind", "remove_snapshot",
                            "export_snapshot", "import_snapshot"})


class ContainerService:
    """Containers, exec sessions, images, checkpoints, logs and events for principals."""

    def __init__(self, runtime: Runtime, *, pools: Executors | None = None,
                 policy: Policy | None = None, limits: BridgeLimits | None = None,
                 log: logging.Logger | None = None) -> None:
        self.runtime = runtime
        self.log = log or logging.getLogger("jupyter_ctr.service")
        self.pools = pools or Executors(log=self.log)
        self.policy = policy or Policy()
        self.limits = limits or BridgeLimits()
        #: Websocket attach bridges by "ctr:<id>" / "exec:<id>" (bridge.get_bridge).
        self.bridges: dict[str, AttachBridge] = {}
        #: Container id -> when someone last attached, exec'd or read its logs (the
        #: policy's idle culling, service/rules.py).
        self.activity: dict[str, float] = {}
        #: Terminal recordings (engine/recordings.py), in the engine's root.
        self.recordings = RecordingStore(runtime.root / "recordings")
        #: The one follower of the events, fanned out to every client that follows them.
        self.event_hub = EventHub(runtime.event_log)
        #: The one stats reader every stats client is fed from (service/stats.py).
        self.sampler = StatsSampler(runtime, self.pools)

    @classmethod
    def build(cls, config: EngineConfig | None = None, *, runtime: Runtime | None = None,
              workers: int = 8, long_workers: int = 64, limits: BridgeLimits | None = None,
              policy: Policy | None = None,
              log: logging.Logger | None = None) -> ContainerService:
        """A service on ``runtime`` (or a new Runtime from ``config``) with its own pools."""
        log = log or logging.getLogger("jupyter_ctr.service")
        return cls(runtime or Runtime(config=config),
                   pools=Executors(workers, long_workers, log=log), policy=policy,
                   limits=limits, log=log)

    def close(self) -> None:
        self.event_hub.close()
        for bridge in list(self.bridges.values()):
            bridge.close()
        self.sampler.close()
        self.pools.close()
        self.runtime.close()

    # -- lookups: service/door.py finds engine objects (in the worker threads) ---------------
    def door(self, principal: Principal) -> Door:
        """The engine as ``principal`` may use it (under this service's policy)."""
        return Door(self.runtime, principal, self.policy)

    def container(self, principal: Principal, ref: str | Container, action: str) -> Container:
        return self.door(principal).container(ref, action)

    def exec_session(self, principal: Principal, exec_id: str, action: str) -> ExecSession:
        return self.door(principal).exec_session(exec_id, action)

    def image(self, principal: Principal, ref: str, action: str) -> Image:
        return self.door(principal).image(ref, action)

    # -- containers ---------------------------------------------------------------------------
    async def lookup(self, principal: Principal, ref: str | Container,
                     action: str = "inspect") -> Container:
        return await self.pools.run(self.container, principal, ref, action)

    async def list_containers(self, principal: Principal, *, all: bool = False,  # noqa: A002
                              filters: Mapping[str, list[str]] | None = None,
                              limit: int | None = None) -> list[ContainerSnapshot]:
        """Container snapshots, newest first: running ones, or all with ``all`` (or a
        ``limit`` or a status filter, as podman's ps), matching ``filters``
        (service/filters.py), at most ``limit``; only those the policy lets ``principal``
        list."""
        return await self.pools.run(self.door(principal).list_containers, all=all,
                                    filters=filters, limit=limit)

    async def create(self, principal: Principal, image: object,
                     translate: Translate) -> tuple[Container, list[str]]:
        """Create a container: ``translate`` turns the image's config (``image``, when it is
        a reference, else none) into create arguments; the policy sees them (action
        ``create``, target the arguments) before anything is made. Returns it and the
        translation's warnings."""

        return await self.pools.run(self.door(principal).create, image, translate)

    async def inspect(self, principal: Principal, ref: str | Container) -> dict[str, Any]:
        return await self.pools.run(lambda: self.container(principal, ref, "inspect").inspect())

    async def act(self, principal: Principal, ref: str | Container, verb: str,
                  *args: Any) -> Any:
        """Run one container verb (VERBS: start, stop, kill, pause, ...) with ``args``, as
        podman's generic handlers do; returns what the verb returns."""
        try:
            long = VERBS[verb]
        except KeyError:
            raise InvalidArgumentError(f"unknown container verb {verb!r}") from None

        def run() -> Any:
            with self.policy.serialize(principal, verb):
                return getattr(self.container(principal, ref, verb), verb)(*args)

        return await (self.pools.run_long(run) if long else self.pools.run(run))

    async def container_spec(self, principal: Principal, ref: str) -> dict[str, Any]:
        """The spec that would create the container again (Door.container_spec)."""
        return await self.pools.run(self.door(principal).container_spec, ref)

    async def should_restart(self, principal: Principal, ref: str | Container) -> bool:
        """Whether a client should restart the container after its attached run: never, the
        engine applies restart policies itself (conmon's exit command)."""
        await self.lookup(principal, ref, "inspect")
        return False

    async def remove(self, principal: Principal, ref: str | Container, *, force: bool = False,
                     timeout: int | None = None) -> Container:
        """Remove a container (dependents too with ``force``); the removed one."""

        return await self.pools.run_long(self.door(principal).remove, ref, force=force,
                                         timeout=timeout)

    # -- wait -------------------------------------------------------------------------------
    async def wait(self, principal: Principal, ctr: Container, conditions: Sequence[str], *,
                   timeout: float) -> int:
        """``Container.wait_for_condition`` for at most ``timeout`` seconds (TimeoutCtrError
        after): callers wait in slices, looking at their client in between."""
        def run() -> int:
            return self.container(principal, ctr, "wait").wait_for_condition(
                list(conditions), interval=0.05, timeout=timeout)

        return await self.pools.run_long(run)

    async def is_removed(self, principal: Principal, ctr: Container) -> bool:
        def run() -> bool:
            self.policy.authorize(principal, "wait", ctr)
            return not self.runtime.store.container_exists(ctr.id)

        return await self.pools.run(run)

    async def recorded_exit_code(self, principal: Principal, ctr: Container) -> int | None:
        """The exit code kept for a container after it was removed (None if none)."""

        def run() -> int | None:
            self.policy.authorize(principal, "wait", ctr)
            return self.runtime.store.exit_code(ctr.id)

        return await self.pools.run(run)

    async def started_since(self, principal: Principal, ctr: Container, since_ns: int) -> bool:
        """Whether the container runs now (running, paused, stopping) or started at or
        after ``since_ns`` (Docker's wait for the next exit)."""

        def run() -> bool:
            snap = self.container(principal, ctr, "wait").observe()
            if snap.state in (S.RUNNING, S.PAUSED, S.STOPPING):
                return True
            return snap.record.started_at >= since_ns

        return await self.pools.run(run)

    # -- logs, stats, export ---------------------------------------------------------------
    def log_feed(self, principal: Principal, ctr: Container, render: Callable[[LogLine], T | None],
                 *, tail: int | None = None, since: float | None = None,
                 until: float | None = None, follow: bool = False) -> ThreadFeed[T]:
        """The container's log lines, each through ``render`` (in the reader's thread; None
        skips a line), following while the container runs and the consumer listens.
        ``ctr`` comes from ``lookup(principal, name, "logs")``."""

        def lines(stopped: threading.Event) -> Iterator[T]:
            self.policy.authorize(principal, "logs", ctr)
            self.activity[ctr.id] = time.time()
            for line in ctr.logs(tail=tail, since=since, until=until, follow=follow,
                                 stop=stopped):
                out = render(line)
                if out is not None:
                    yield out

        return iterate_in_thread(lines, maxsize=256, name="ctr-logs")

    # -- stats from the sampler (service/stats.py) ----------------------------------------
    async def stats_now(self, principal: Principal, names: Sequence[str]) -> list[Pair]:
        """One reading of each container ``names`` names (name, ID or ID prefix), or of
        every running one ``principal`` may read stats of when none, each with the reading
        its CPU share is taken from (``StatsSampler.baseline``). One pool hop; a named one
        missing, another's or not running raises as ``container`` and ``stats`` do."""
        door = self.door(principal)
        sampler = self.sampler

        def run() -> list[Pair]:
            if not names:
                readings = sampler.visible(door, sampler.read())
                return [(r, sampler.baseline(r)) for r in readings.values()]
            ctrs = [self.stats_target(door, name) for name in names]
            readings = sampler.read([c.id for c in ctrs])
            out: list[Pair] = []
            for ctr in ctrs:
                reading = readings.get(ctr.id)
                if reading is None:  # not running: the engine's verb says so
                    raw = ctr.stats()
                    reading = Reading(raw, system_ns=host_cpu_ns(), started_at=0)
                out.append((reading, sampler.baseline(reading)))
            return out

        return await self.pools.run(run)

    def stats_target(self, door: Door, name: str) -> Container:
        """The container ``name`` names for stats: a running one the sampler knows by full
        ID without a store lookup, else through the Door (its errors)."""
        handle = self.sampler.handles.get(name)
        if handle is not None and door.may("stats", handle):
            return handle
        return door.container(name, "stats")

    async def stats_stream(self, principal: Principal, names: Sequence[str],
                           interval: float) -> AsyncGenerator[list[Pair], None]:
        """``stats_now``, then every ``interval`` seconds the sampler's latest readings of
        the same containers (every running one ``principal`` may see, when none are
        named: new ones join, stopped ones leave), each with the reading sent before it.
        A named container that stops ends the stream."""
        first = await self.stats_now(principal, names)
        yield first
        named = [reading["id"] for reading, _ in first] if names else None
        sent = {reading["id"]: reading for reading, _ in first}
        door = self.door(principal)
        sampler = self.sampler
        last = time.monotonic()
        async with sampler.subscription() as sub:
            while True:
                sweep = await sub.next()
                # sweeps come every sampler.interval: send the one nearest to the due time
                if sweep.monotonic - last < interval - sampler.interval / 2:
                    continue
                last = sweep.monotonic
                if named is None:
                    readings = sampler.visible(door, sweep.readings)
                elif all(i in sweep.readings for i in named):
                    readings = {i: sweep.readings[i] for i in named}
                else:
                    return
                out = [(r, sent.get(r["id"]) or sampler.baseline(r))
                       for r in readings.values()]
                sent = readings
                yield out

    def export_feed(self, principal: Principal, ctr: Container) -> ThreadFeed[bytes]:
        """The root filesystem as tar bytes, written by a thread (``ctr`` from
        ``lookup(principal, name, "export")``)."""

        def export(out: BinaryIO) -> None:
            self.policy.authorize(principal, "export", ctr)
            ctr.export(out)

        return write_in_thread(export, name="ctr-export")

    # -- attach ---------------------------------------------------------------------------
    async def open_attach(self, principal: Principal, ref: str | Container, *,
                          logs: bool = False) -> ContainerSource:
        """Attach to a created or running container (a configured or exited one is
        initialized first, for Docker's attach-then-start); ``logs`` replays the log first.
        Records the "attach" event, as libpod does for every attach."""

        def connect() -> tuple[Container, AttachStream]:
            ctr = self.container(principal, ref, "attach")
            self.activity[ctr.id] = time.time()
            if ctr.state in (S.CONFIGURED, S.STOPPED, S.EXITED):
                with contextlib.suppress(ContainerStateInvalidError):
                    ctr.init()  # lost a race with another init/start: fine
            return ctr, ctr.open_attach(logs=logs)

        ctr, stream = await self.pools.run(connect)
        replay = None
        if logs:

            def chunks(stopped: threading.Event) -> Iterator[tuple[int, bytes]]:
                return stream.replay()

            replay = iterate_in_thread(chunks, name="ctr-replay")
        return ContainerSource(self.pools, ctr, stream.conn, replay, activity=self.activity)

    async def attach_bridge(self, principal: Principal, ref: str | Container, *,
                            logs: bool = False) -> AttachBridge:
        """The shared websocket attach of a container (opened on first use, see bridge.py)."""
        ctr = await self.lookup(principal, ref, "attach")

        async def open_source() -> ContainerSource:
            return await self.open_attach(principal, ctr, logs=logs)

        return await get_bridge(self.bridges, f"ctr:{ctr.id}", open_source, self.limits,
                                self.session_setup(principal, ctr, None))

    # -- exec -----------------------------------------------------------------------------
    async def create_exec(self, principal: Principal, ref: str | Container,
                          command: list[str], *, tty: bool = False, stdin: bool = False,
                          env: list[str] | None = None, user: str | None = None,
                          workdir: str | None = None,
                          detach_keys: str | None = None) -> ExecSession:
        def run() -> ExecSession:
            ctr = self.container(principal, ref, "exec")
            self.activity[ctr.id] = time.time()
            return ctr.exec(command, tty=tty, stdin=stdin, env=env, user=user,
                            workdir=workdir, detach_keys=detach_keys)

        return await self.pools.run(run)

    async def lookup_exec(self, principal: Principal, exec_id: str,
                          action: str = "exec.inspect") -> ExecSession:
        return await self.pools.run(self.exec_session, principal, exec_id, action)

    async def inspect_exec(self, principal: Principal, exec_id: str) -> dict[str, Any]:
        return await self.pools.run(
            lambda: self.exec_session(principal, exec_id, "exec.inspect").inspect())

    async def resize_exec(self, principal: Principal, exec_id: str, height: int,
                          width: int) -> None:
        await self.pools.run(
            lambda: self.exec_session(principal, exec_id, "exec.resize").resize(height, width))

    async def start_exec_detached(self, principal: Principal, exec_id: str) -> None:
        await self.pools.run(lambda: self.exec_session(principal, exec_id, "exec.start").start())

    async def stop_exec(self, principal: Principal, exec_id: str,
                        timeout: int | None = None) -> None:
        """Stop a running session: SIGTERM, SIGKILL after ``timeout`` (ExecSession.stop)."""
        await self.pools.run_long(
            lambda: self.exec_session(principal, exec_id, "exec.stop").stop(timeout))

    async def remove_exec(self, principal: Principal, exec_id: str, *,
                          force: bool = False) -> int | None:
        """Remove a session (a running one needs ``force`` and is killed); its exit code
        (None if it never ran)."""

        def run() -> int | None:
            session = self.exec_session(principal, exec_id, "exec.remove")
            session.remove(force=force)
            return session.exit_code

        return await self.pools.run_long(run)

    async def startable_exec(self, principal: Principal, exec_id: str) -> ExecSession:
        """A session to start attached: it must be created (not yet started)."""

        def run() -> ExecSession:
            session = self.exec_session(principal, exec_id, "exec.start")
            session.inspect()  # synced under the container lock: a fresh state
            if session.state is not ExecState.CREATED:
                raise InvalidArgumentError(f"exec session {session.id[:12]} is "
                                           f"{session.state.value}: only created sessions "
                                           "can be started")
            return session

        return await self.pools.run(run)

    async def open_exec(self, principal: Principal, session: ExecSession, *, start: bool,
                        stdin: bool, tty_size: tuple[int, int] | None = None) -> ExecSource:
        """Start a created session (``start``, action ``exec.start``) or attach to a
        running one (``exec.attach``)."""

        def run() -> Any:
            self.policy.authorize(principal, "exec.start" if start else "exec.attach",
                                  session)
            self.activity[session.container_id] = time.time()
            return session.open_stream(start=start, tty_size=tty_size)

        stream = await self.pools.run(run)
        return ExecSource(self.pools, session, stream, stdin=stdin, activity=self.activity)

    async def exec_bridge(self, principal: Principal, exec_id: str,
                          tty_size: tuple[int, int] | None = None) -> AttachBridge:
        """The shared websocket of an exec session: starts a created session, or attaches
        to a running one."""
        session = await self.lookup_exec(principal, exec_id, "exec.start")

        async def open_source() -> ExecSource:
            def created() -> bool:
                session.inspect()  # synced under the container lock: a fresh state
                return session.state is ExecState.CREATED

            start = await self.pools.run(created)
            return await self.open_exec(principal, session, start=start, stdin=True,
                                        tty_size=tty_size)

        return await get_bridge(self.bridges, f"exec:{session.id}", open_source, self.limits,
                                self.session_setup(principal, session.container, session.id,
                                                   tty_size))

    # -- sessions: recording and shadowing (bridge.py) ------------------------------------------
    def session_setup(self, principal: Principal, ctr: Any, exec_id: str | None,
                      tty_size: tuple[int, int] | None = None) -> Callable[[AttachBridge], None]:
        """What completes a new bridge on ``ctr`` (an exec session's, with ``exec_id``):
        its description, and its recorder (started at once when the policy requires it:
        rule record_labs)."""

        def setup(bridge: AttachBridge) -> None:
            cfg = ctr.config
            bridge.meta = {"container": ctr.id, "container_name": ctr.name,
                           "exec_id": exec_id, "owner_uid": int(cfg.owner_uid),
                           "owner_name": cfg.owner_name,
                           "lab": dict(cfg.labels).get(LAB_LABEL), "target": ctr}
            if tty_size:
                bridge.size = tty_size
            bridge.required, max_size = self.policy.recording_rules(ctr)

            def start(rows: int, cols: int, user: str) -> Recorder:
                meta = {k: v for k, v in bridge.meta.items() if k != "target"}
                command = " ".join(getattr(cfg, "command", None) or [])
                return self.recordings.start({**meta, "user": user}, cols, rows,
                                             max_size=max_size,
                                             title=f"{ctr.name}: {command}".rstrip(": "))

            bridge.start_recorder = start
            if bridge.required:
                try:
                    bridge.record(True, principal.name)
                except OSError as exc:
                    self.log.error("cannot record session %s: %s", bridge.key, exc)

        return setup

    async def take_over(self, principal: Principal, bridge: AttachBridge, client: Any) -> None:
        """Let a watching ``client`` type (policy action ``session.takeover`` on the
        container: instructors only in the multi-user service)."""
        target = bridge.meta.get("target") or bridge.meta.get("container")
        if target is None:
            raise InvalidArgumentError("this session cannot be taken over")
        await self.pools.run(self.container, principal, target, "session.takeover")
        bridge.take_over(client)

    def live_sessions(self, principal: Principal,
                      container: str | None = None) -> list[AttachBridge]:
        """The bridges (live websocket sessions) on containers ``principal`` may inspect
        (all, or those of ``container``: a name, an ID or its prefix)."""
        out = []
        for bridge in list(self.bridges.values()):
            target = bridge.meta.get("target")
            if target is None or bridge.ended:
                continue
            if container and container not in (target.name, target.id) and \
                    not target.id.startswith(container):
                continue
            if self.policy.permits(principal, "inspect", target):
                out.append(bridge)
        return out

    # -- checkpoint timeline (Door.snapshot ...) ---------------------------------------------
    async def timeline(self, principal: Principal, verb: str, *args: Any) -> Any:
        """One timeline verb of the Door (TIMELINE_VERBS: snapshot, snapshots, rewind,
        remove_snapshot, export_snapshot, import_snapshot) in a long worker; a rewind or an
        import may make a container run: the policy serializes them as starts."""
        if verb not in TIMELINE_VERBS:
            raise InvalidArgumentError(f"unknown timeline verb {verb!r}")
        serial = {"rewind": "rewind", "import_snapshot": "restore.import"}.get(verb, verb)

        def run() -> Any:
            with self.policy.serialize(principal, serial):
                return getattr(self.door(principal), verb)(*args)

        return await self.pools.run_long(run)

    # -- checkpoint / restore ---------------------------------------------------------------
    async def checkpoint(self, principal: Principal, ref: str | Container,
                         options: CheckpointOptions) -> CheckpointStats:
        """Checkpoint (to ``options.target_file`` too: an export, see Door.checkpoint)."""
        return await self.pools.run_long(self.door(principal).checkpoint, ref, options)

    async def check_import_size(self, principal: Principal, size: int) -> None:
        """Raise unless ``principal`` may import a checkpoint archive of ``size`` bytes."""
        await self.pools.run(self.door(principal).check_import_size, size)

    async def restore(self, principal: Principal, ref: str | Container,
                      options: CheckpointOptions) -> CheckpointStats:
        def run() -> CheckpointStats:
            with self.policy.serialize(principal, "restore"):
                return self.container(principal, ref, "restore").restore(options)

        return await self.pools.run_long(run)

    async def restore_import(self, principal: Principal, archive: Path, name: str | None,
                             options: CheckpointOptions) -> Container:
        """Restore a checkpoint archive as a new container (podman restore --import)."""

        def run() -> Container:
            with self.policy.serialize(principal, "restore.import"):
                return self.door(principal).import_checkpoint(archive, name, options)[0]

        return await self.pools.run_long(run)

    # -- images ---------------------------------------------------------------------------
    async def list_images(self, principal: Principal) -> tuple[list[Image], dict[str, int]]:
        """The images, and per image ID the number of containers using it."""

        return await self.pools.run(self.door(principal).list_images)

    async def lookup_image(self, principal: Principal, ref: str,
                           action: str = "image.inspect") -> Image:
        return await self.pools.run(self.image, principal, ref, action)

    async def remove_image(self, principal: Principal, ref: str, *,
                           force: bool = False) -> ImageRemoveReport:
        """``podman rmi`` (Door.remove_image): untag one of several names, or remove."""

        return await self.pools.run(self.door(principal).remove_image, ref, force=force)

    async def import_image(self, principal: Principal, path: Path, reference: str) -> Image:
        return await self.pools.run_long(self.door(principal).import_image, path, reference)

    async def build_demo(self, principal: Principal, reference: str) -> Image:
        """The demo busybox image, built on this host once (action ``image.build``)."""
        return await self.pools.run_long(self.door(principal).build_demo, reference)

    # -- images: pull, push, load, save --------------------------------------------------
    async def check_pull(self, principal: Principal, reference: str) -> str:
        """Refuse a pull before its stream starts (policy, reference): the normalized
        reference."""
        def run() -> str:
            self.door(principal).authorize("image.pull", reference)
            return normalize_remote_reference(reference)

        return await self.pools.run(run)

    def pull_feed(self, principal: Principal, reference: str, *, tls_verify: bool = True,
                  auth_file: str | None = None) -> ThreadFeed[str | Image]:
        """Pull in a thread: its progress lines (str), then the image."""

        def pull(report: Callable[[str | Image], None]) -> None:
            report(self.door(principal).pull_image(reference, tls_verify=tls_verify,
                                                   auth_file=auth_file,
                                                   progress=_lasting(report)))

        return report_in_thread(pull, name="ctr-pull")

    def push_feed(self, principal: Principal, reference: str, destination: str | None, *,
                  tls_verify: bool = True, auth_file: str | None = None,
                  ) -> ThreadFeed[str | tuple[str, str]]:
        """Push in a thread: its progress lines (str), then ("digest", the manifest's)."""

        def push(report: Callable[[str | tuple[str, str]], None]) -> None:
            digest = self.door(principal).push_image(
                reference, destination, tls_verify=tls_verify, auth_file=auth_file,
                progress=_lasting(report))
            report(("digest", digest))

        return report_in_thread(push, name="ctr-push")

    async def load_images(self, principal: Principal, path: Path) -> list[Image]:
        """Add the images of an uploaded archive (action ``image.load``)."""
        return await self.pools.run_long(self.door(principal).load_images, path)

    async def check_save(self, principal: Principal, references: Sequence[str],
                         format: str) -> list[Image]:  # noqa: A002 - podman's flag
        """Refuse a save before its stream starts: the images (action ``image.save``)."""
        if format not in STREAMED_SAVE_FORMATS:
            raise InvalidArgumentError(
                f"cannot stream format {format!r}: docker-archive or oci-archive")
        if not references:
            raise InvalidArgumentError("cannot save: name at least one image")

        def run() -> list[Image]:
            door = self.door(principal)
            return [door.image(ref, "image.save") for ref in references]

        return await self.pools.run(run)

    def save_feed(self, principal: Principal, references: Sequence[str], *,
                  format: str = "docker-archive",  # noqa: A002 - podman's flag
                  compress: bool = False) -> ThreadFeed[bytes]:
        """The archive as bytes, written by a thread (never whole in memory)."""

        def save(out: BinaryIO) -> None:
            self.door(principal).save_images(list(references), out, format=format,
                                             compress=compress)

        return write_in_thread(save, name="ctr-save")

    # -- events and system -------------------------------------------------------------------
    async def commit(self, principal: Principal, container_ref: str,
                     reference: str | None = None, **opts: Any) -> Image:
        """Door.commit in a long-work thread (it writes the container's changes)."""
        return await self.pools.run_long(
            lambda: self.door(principal).commit(container_ref, reference, **opts))

    async def image_history(self, principal: Principal, ref: str) -> list[dict[str, Any]]:
        return await self.pools.run(self.door(principal).image_history, ref)

    async def tag_image(self, principal: Principal, ref: str, reference: str) -> Image:
        return await self.pools.run(self.door(principal).tag_image, ref, reference)

    async def untag_image(self, principal: Principal, ref: str,
                          references: Sequence[str] = ()) -> Image:
        return await self.pools.run(self.door(principal).untag_image, ref, references)

    async def prune_images(self, principal: Principal, all: bool = False) -> list[Image]:  # noqa: A002
        return await self.pools.run_long(self.door(principal).prune_images, all)

    # -- labs: bulk actions (service/labs.py) ------------------------------------------------
    async def labs(self, principal: Principal) -> list[dict[str, Any]]:
        return await self.pools.run(self.door(principal).labs)

    async def lab_action(self, principal: Principal, lab: str, action: str, *,
                         step: str | None = None,
                         timeout: int | None = None) -> list[dict[str, Any]]:
        """``Door.lab_action``: one long-pool thread, which acts on the containers in a
        small pool of its own."""
        return await self.pools.run_long(self.door(principal).lab_action, lab, action,
                                         step=step, timeout=timeout)

    async def check_event_filters(self, principal: Principal,
                                  filters: Mapping[str, list[str]]) -> None:
        """Raise for filters the event log does not take (before a stream starts)."""

        def run() -> None:
            self.door(principal).events(since=0, until=0, filters=filters)

        await self.pools.run(run)

    def event_feed(self, principal: Principal, *, since: float | None = None,
                   until: float | None = None, filters: Mapping[str, list[str]] | None = None,
                   follow: bool = False) -> ThreadFeed[Event] | EventSubscription:
        """Events from ``since`` (then new ones while ``follow``) until ``until`` or the
        consumer leaves; check the filters first (``check_event_filters``). Following with
        no end is a subscription to the one EventHub (the events before it, from ``since``,
        read first in a thread); the rest is a reading of its own."""
        door = self.door(principal)

        if not follow or until is not None:
            def events(stopped: threading.Event) -> Iterator[Event]:
                return door.events(since=since, until=until, filters=filters,
                                   follow=follow, stop=stopped)

            return iterate_in_thread(events, name="ctr-events")
        door.authorize("events", None)
        sub = self.event_hub.subscribe(door.view.owner_scope, filters)
        if since is not None:
            def history(stopped: threading.Event) -> Iterator[Event]:
                for ev in door.events(since=since, filters=filters):
                    if ev.seq > sub.after or stopped.is_set():
                        return  # the newer ones come live
                    yield ev

            sub.history = iterate_in_thread(history, name="ctr-events-since")
        return sub

    async def counts(self, principal: Principal) -> dict[str, int]:
        """Containers by state and the number of images (``info``)."""

        return await self.pools.run(self.door(principal).counts)


def _lasting(report: Callable[[Any], None]) -> Callable[[str], None]:
    """A progress callback that outlives its consumer: a pull or push whose client went
    away finishes (its image is stored; skopeo is not cut off mid-copy)."""

    def progress(line: str) -> None:
        with contextlib.suppress(StreamClosedError):
            report(line)

    return progress
