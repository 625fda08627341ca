"""Exec routes: ``POST /containers/{name}/exec`` (create), ``/exec/{id}/start`` (hijacked
unless detached), ``/exec/{id}/resize``, ``GET /exec/{id}/json``; and ours, in the libpod
namespace only (podman's API has no route for them, our engine has the verbs):
``POST /exec/{id}/attach`` (hijacked, to a running session), ``/exec/{id}/stop`` and
``DELETE /exec/{id}``."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import limits
from ...engine.conmon_socket import STDERR
from ...engine.errors import CtrError
from ...engine.stdio import parse_detach_keys
from ...service.pumps import pump, raw, streams_wanted
from ...service.sources import ExecSource
from .. import errors, models, specgen
from ..framing import mux_frame
from ..hijack import MULTIPLEXED, RAW, HijackedConnection, status_line, wants_upgrade
from .base import DOCKER, LIBPOD, NAME, CtrHandler


def _str_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.bad_request(f"invalid {key}: want a list of strings")
    if any("\0" in v for v in value):
        raise errors.bad_request(f"invalid {key}: strings may not contain NUL characters")
    return value


def _detach_keys(body: dict[str, Any]) -> str | None:
    keys = body.get("DetachKeys")
    if keys is not None and not isinstance(keys, str):
        raise errors.bad_request("invalid DetachKeys: want a string such as ctrl-p,ctrl-q")
    return keys


class ExecCreateHandler(CtrHandler):
    """Body as Docker's ExecConfig (podman's libpod route takes the same): Cmd, Env,
    AttachStdin/Stdout/Stderr, Tty, WorkingDir, User, DetachKeys."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        body = self.body_json()
        cmd = _str_list(body, "Cmd")
        if not cmd:
            raise errors.bad_request("Cmd is required: give the command to run")
        tty, stdin = bool(body.get("Tty")), bool(body.get("AttachStdin"))
        env = _str_list(body, "Env")
        user = specgen.opt_str(body.get("User"), "User")
        workdir = specgen.opt_str(body.get("WorkingDir"), "WorkingDir")
        detach_keys = _detach_keys(body)
        session = await self.service.create_exec(
            self.principal, name, cmd, tty=tty, stdin=stdin, env=env, user=user,
            workdir=workdir, detach_keys=detach_keys)
        self.set_status(201)
        self.finish(models.exec_create_response(session.id))


class ExecInspectHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        self.reply_json(models.exec_inspect(await self.service.inspect_exec(self.principal,
                                                                            name)))


class ExecResizeHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        height = self.q_int("h", minimum=0, maximum=limits.TTY_SIZE_MAX)
        width = self.q_int("w", minimum=0, maximum=limits.TTY_SIZE_MAX)
        if height is None or width is None:
            raise errors.bad_request("resize needs both h and w")
        await self.service.resize_exec(self.principal, name, height, width)
        self.reply_empty(201)


class ExecStartHandler(CtrHandler):
    """``{"Detach": bool, "Tty": bool, "h": int, "w": int}``; attached starts hijack the
    connection and stream until the process exits (framed unless it has a tty)."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        body = self.body_json(required=False)
        if body.get("Detach"):
            await self.service.start_exec_detached(self.principal, name)
            self.reply_empty(200)
            return
        size = None
        if body.get("h") and body.get("w"):
            size = (specgen.number(body["h"], "h", 0, limits.TTY_SIZE_MAX),
                    specgen.number(body["w"], "w", 0, limits.TTY_SIZE_MAX))
        session = await self.service.startable_exec(self.principal, name)
        upgrade = wants_upgrade(self)
        tty = bool(session.config.get("tty"))
        client = HijackedConnection.take(self)
        source: ExecSource | None = None
        try:
            # As Docker: the stream is hijacked before the process starts (clients such as
            # docker-py read the body from the raw socket and lose what came with the
            # headers); a session that cannot start says why in the stream.
            await client.send(status_line(upgrade, RAW if tty else MULTIPLEXED))
            try:
                source = await self.service.open_exec(self.principal, session, start=True,
                                                      stdin=True, tty_size=size)
            except CtrError as exc:
                message = f"{errors.redact_text(str(exc), self.internal_paths())}\n".encode()
                await client.send(message if tty else mux_frame(STDERR, message))
                return
            result = await pump(client, source, stdin=source.stdin,
                                encode=raw if tty else mux_frame,
                                streams=streams_wanted(True, True),
                                detach_keys=source.detach_keys)
            if result == "exited":
                await source.exit_code()  # recorded, for exec inspect
        except Exception as exc:  # noqa: BLE001 - the status line is out: log, then close
            self.log.warning("exec %s: %s", name[:12], exc)
        finally:
            if source is not None:
                source.close()
            client.close()


class ExecAttachHandler(CtrHandler):
    """Attach to a RUNNING session (one started detached), as ``containers/{id}/attach``
    does to a container: the connection is hijacked (101 UPGRADED with ``Upgrade: tcp``),
    framed unless the session has a tty, until the process exits or the client detaches.
    Query: ``stdin`` (default true; a session created without stdin takes none),
    ``detachKeys`` (default the session's). Output written before the attach is not
    replayed. Errors before the hijack are JSON: 404, 409 (not running)."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        keys = self.q("detachKeys", self.q("detachkeys"))
        detach_keys = None if keys is None else parse_detach_keys(keys)
        source = await self.service.open_exec(
            self.principal, await self.service.lookup_exec(self.principal, name, "exec.attach"),
            start=False, stdin=self.q_bool("stdin", True))
        try:
            upgrade = wants_upgrade(self)
            client = HijackedConnection.take(self)
        except BaseException:
            source.close()
            raise
        try:
            await client.send(status_line(upgrade, RAW if source.tty else MULTIPLEXED))
            result = await pump(client, source, stdin=source.stdin,
                                encode=raw if source.tty else mux_frame,
                                streams=streams_wanted(True, True),
                                detach_keys=source.detach_keys if detach_keys is None
                                else detach_keys)
            if result == "exited":
                await source.exit_code()  # recorded, for exec inspect
        except OSError:
            pass
        finally:
            source.close()
            client.close()


class ExecStopHandler(CtrHandler):
    """Stop a running session: SIGTERM, then SIGKILL after ``t`` (or ``timeout``) seconds
    (default the container's stop timeout). 204; 409 unless running."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        await self.service.stop_exec(self.principal, name, self.q_timeout("t", "timeout"))
        self.reply_empty(204)


class ExecRemoveHandler(CtrHandler):
    """Remove a session; a running one needs ``force`` (it is killed: exit code 137).
    Answers ``{"Id": ..., "ExitCode": code or null}`` (null: it never ran)."""

    @web.authenticated
    @authorized
    async def delete(self, name: str, version: str | None = None) -> None:
        code = await self.service.remove_exec(self.principal, name,
                                              force=self.q_bool("force"))
        self.reply_json(models.exec_remove_report(name, code))


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        out += [
            (f"{base}/containers/{NAME}/exec", ExecCreateHandler, kw),
            (f"{base}/exec/{NAME}/start", ExecStartHandler, kw),
            (f"{base}/exec/{NAME}/resize", ExecResizeHandler, kw),
            (f"{base}/exec/{NAME}/json", ExecInspectHandler, kw),
        ]
        if flavor == "libpod":
            out += [
                (f"{base}/exec/{NAME}/attach", ExecAttachHandler, kw),
                (f"{base}/exec/{NAME}/stop", ExecStopHandler, kw),
                (f"{base}/exec/{NAME}", ExecRemoveHandler, kw),
            ]
    return out
