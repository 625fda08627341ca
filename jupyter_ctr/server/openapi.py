"""The OpenAPI 3 document of our routes, served at ``{base_url}ctr/openapi.json``.

Written by hand, one entry per operation; tests/server/test_openapi.py checks it against the
handlers actually registered, so a route cannot be added or dropped without this file.
Docker-compatible paths also answer with a ``/v1.41``-style prefix; libpod paths require
``/v{version}/libpod`` (the version is never checked, as in podman).
"""

from __future__ import annotations

from typing import Any

import jupyter_ctr

from . import models

_E = {"$ref": "#/components/responses/Error"}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "container name, ID or unique ID prefix (image: reference or ID; "
                        "exec: session ID)"}
_STEP = {"name": "step", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "a snapshot's step name"}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}

#: Other path parameters, by name.
_PATH: dict[str, dict[str, Any]] = {
    "lab": {"name": "lab", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "lab name (label jupyter-ctr.lab)"},
    "action": {"name": "action", "in": "path", "required": True,
               "schema": {"type": "string", "enum": ["start", "stop", "reset", "remove"]}},
}
#: Query parameters of some operations.
_QUERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("/api/labs/{lab}/{action}", "post"): [
        {"name": "step", "in": "query", "schema": {"type": "string"},
         "description": "the timeline step to rewind to (reset)"},
        {"name": "timeout", "in": "query", "schema": {"type": "integer"},
         "description": "seconds before SIGKILL (stop, remove)"},
    ],
}

L = "/v{version}/libpod"

# (path, method) -> (summary, success codes, error codes)
Op = tuple[str, tuple[int, ...], tuple[int, ...]]
_CTR = (404, 409, 500)


def _containers(base: str, flavor: str) -> dict[tuple[str, str], Op]:
    c = f"{base}/containers"
    ops: dict[tuple[str, str], Op] = {
        (f"{c}/json", "get"): ("List containers (all, limit, filters JSON)", (200,), (400,)),
        (f"{c}/create", "post"): (
            "Create a container: libpod SpecGenerator JSON, or Docker's config with ?name="
            if flavor == "libpod" else "Create a container from Docker's config (?name=)",
            (201,), (400, 404, 409)),
        (f"{c}/{{name}}/json", "get"): ("Inspect a container", (200,), (404,)),
        (f"{c}/{{name}}/start", "post"): ("Start (304: already running)", (204, 304), _CTR),
        (f"{c}/{{name}}/stop", "post"): ("Stop (timeout|t); 304: already stopped",
                                         (204, 304), _CTR),
        (f"{c}/{{name}}/kill", "post"): ("Send a signal (default SIGKILL); 409: not running",
                                         (204,), _CTR),
        (f"{c}/{{name}}/pause", "post"): ("Pause (cgroup freezer)", (204,), _CTR),
        (f"{c}/{{name}}/unpause", "post"): ("Unpause", (204,), _CTR),
        (f"{c}/{{name}}/restart", "post"): ("Restart (t)", (204,), _CTR),
        (f"{c}/{{name}}/wait", "post"): (
            "Wait: libpod answers the exit code as text (condition may repeat); Docker "
            "answers {StatusCode} (condition not-running|next-exit|removed)",
            (200,), (400, 404)),
        (f"{c}/{{name}}/resize", "post"): ("Resize the tty (h, w)", (200,), (400, 404, 409)),
        (f"{c}/{{name}}/logs", "get"): (
            "Logs, multiplexed-stream framed (raw for Docker tty containers): follow, tail, "
            "since, until, stdout, stderr, timestamps", (200,), (400, 404)),
        (f"{c}/{{name}}/top", "get"): ("Processes (Titles, Processes)", (200,), _CTR),
        (f"{c}/{{name}}/stats", "get"): ("Docker stats JSON (stream, one-shot)", (200,), _CTR),
        (f"{c}/{{name}}/export", "get"): ("Root filesystem as a tar stream", (200,), (404,)),
        (f"{c}/{{name}}/attach", "post"): (
            "Attach: the connection is hijacked (101 UPGRADED with Upgrade: tcp, else 200); "
            "stream, logs, stdin, stdout, stderr, detachKeys", (101, 200), (400, 404, 409)),
        (f"{c}/{{name}}/exec", "post"): ("Create an exec session (Docker ExecConfig)",
                                         (201,), (400, 404, 409)),
        (f"{base}/exec/{{name}}/start", "post"): (
            "Start an exec session: {Detach} -> 200, else the connection is hijacked",
            (101, 200), (400, 404, 409)),
        (f"{base}/exec/{{name}}/resize", "post"): ("Resize an exec session's tty", (201,),
                                                   (400, 404, 409)),
        (f"{base}/exec/{{name}}/json", "get"): ("Inspect an exec session", (200,), (404,)),
        (f"{c}/{{name}}", "delete"): (
            "Remove (force, t); libpod 200 [{Id, Err}], Docker 204",
            (200, 204), (404, 409)),
        (f"{base}/_ping", "get"): ("Ping: API-Version and Libpod-API-Version headers",
                                   (200,), ()),
        (f"{base}/_ping", "head"): ("Ping (headers only)", (200,), ()),
        (f"{base}/version", "get"): ("Version report", (200,), ()),
        (f"{base}/info", "get"): ("System information", (200,), ()),
        (f"{base}/events", "get"): ("Events as JSON lines (since, until, filters, stream)",
                                    (200,), (400,)),
        (f"{base}/images/json", "get"): ("List images", (200,), ()),
        (f"{base}/images/{{name}}/json", "get"): ("Inspect an image", (200,), (404,)),
        (f"{base}/images/{{name}}", "delete"): (
            "Remove an image (force): by one of several names only untag it; by ID with "
            "several names 409 without force", (200,), (404, 409)),
        (f"{base}/commit", "post"): (
            "Commit a container to an image (container, repo, tag, comment, author, pause, "
            "changes); {Id}: libpod 200, Docker 201", (200, 201), (400, 404, 409)),
        (f"{base}/images/{{name}}/history", "get"): (
            "Image history, newest first: [{Id, Created, CreatedBy, Tags, Size, Comment}]",
            (200,), (404,)),
        (f"{base}/images/{{name}}/tag", "post"): (
            "Add a name to an image (repo, tag: default latest); 201, no body",
            (201,), (400, 404)),
        (f"{base}/images/prune", "post"): (
            "Remove dangling (all=true, or Docker's filters dangling=false: every unused) "
            "images; libpod [{Id, Size}], Docker {ImagesDeleted, SpaceReclaimed}",
            (200,), (400,)),
    }
    if flavor == "libpod":
        ops.update({
            (f"{base}/images/{{name}}/untag", "post"): (
                "Remove a name (repo, tag) from an image, or all its names (no repo); 201, "
                "no body", (201,), (400, 404)),
            (f"{c}/stats", "get"): ("Stats of several containers (containers=, stream)",
                                    (200,), (404, 409)),
            (f"{c}/{{name}}/exists", "get"): ("204 if the container exists", (204,), (404,)),
            (f"{c}/{{name}}/init", "post"): ("Initialize (304: already initialized)",
                                             (204, 304), (404, 500)),
            (f"{c}/{{name}}/shouldrestart", "post"): (
                "Always {Value: false}: the engine applies restart policies itself",
                (200,), (404,)),
            (f"{c}/{{name}}/mount", "post"): ("Mount the root filesystem; its path as text",
                                              (200,), _CTR),
            (f"{c}/{{name}}/unmount", "post"): ("Drop one mount", (204,), _CTR),
            (f"{c}/{{name}}/checkpoint", "post"): (
                "Checkpoint with CRIU (keep, leaveRunning, tcpEstablished, ignoreRootFS, "
                "printStats, fileLocks); export=true sends the archive as the body",
                (200,), _CTR),
            (f"{c}/{{name}}/restore", "post"): (
                "Restore in place, or import=true: the archive in the body becomes a new "
                "container (name=)", (200,), (400, 404, 409, 500)),
            (f"{base}/images/pull", "post"): (
                "Pull ?reference=&tlsVerify=&quiet= (X-Registry-Auth): a registry name is "
                "pulled, its progress streamed as JSON objects ({stream}, then {images, id}, "
                "or {error} after the 200); a local-only name is answered from the store",
                (200,), (400, 403, 404)),
            (f"{base}/images/{{name}}/push", "post"): (
                "Push ?destination=&tlsVerify=&quiet= (X-Registry-Auth): JSON objects "
                "({stream}, then {manifestdigest}, or {error})", (200,), (400, 403, 404)),
            (f"{base}/images/load", "post"): (
                "Load a docker-archive or oci-archive from the body: {Names}", (200,),
                (400, 403, 413)),
            (f"{base}/images/export", "get"): (
                "Save ?references=&format=docker-archive|oci-archive&compress= as a "
                "streamed tarball", (200,), (400, 403, 404)),
            (f"{base}/images/{{name}}/get", "get"): (
                "Save one image (?format=&compress=) as a streamed tarball", (200,),
                (400, 403, 404)),
            (f"{base}/images/import", "post"): (
                "Import a rootfs or OCI tarball from the body as ?reference=", (200,), (400,)),
            (f"{base}/images/{{name}}/exists", "get"): ("204 if the image exists", (204,),
                                                        (404,)),
            (f"{base}/images/build-demo", "post"): (
                "Ours: build the demo busybox image on the engine's host as ?reference= "
                "(default localhost/busybox:latest); {Id}", (200,), (400, 403, 500)),
            (f"{base}/exec/{{name}}/attach", "post"): (
                "Ours: attach to a running exec session (started detached): the connection "
                "is hijacked as for containers; stdin, detachKeys", (101, 200),
                (400, 404, 409)),
            (f"{base}/exec/{{name}}/stop", "post"): (
                "Ours: stop a running exec session (SIGTERM, SIGKILL after t|timeout)",
                (204,), (404, 409)),
            (f"{base}/exec/{{name}}", "delete"): (
                "Ours: remove an exec session (force kills a running one); {Id, ExitCode}",
                (200,), (404, 409)),
        })
    else:
        ops.update({
            (f"{base}/images/create", "post"): (
                "Pull (fromImage, tag; X-Registry-Auth): a registry name is pulled, progress "
                "streamed ({status, progressDetail, id}, {error, errorDetail}); a local-only "
                "name is answered from the store", (200,), (400, 403, 404)),
            (f"{base}/images/{{name}}/push", "post"): (
                "Push to the image's own name (?tag=; X-Registry-Auth), progress streamed",
                (200,), (400, 403, 404)),
            (f"{base}/images/load", "post"): (
                "Load an archive from the body: {stream: Loaded image: NAME}", (200,),
                (400, 403, 413)),
            (f"{base}/images/get", "get"): (
                "Save ?names= as a streamed docker-archive", (200,), (400, 403, 404)),
            (f"{base}/images/{{name}}/get", "get"): (
                "Save one image as a streamed docker-archive", (200,), (400, 403, 404)),
        })
    return ops


def operations() -> dict[tuple[str, str], Op]:
    ops = {**_containers(L, "libpod"), **_containers("", "docker")}
    ops.update({
        ("/containers/{name}/attach/ws", "get"): (
            "Docker's websocket attach: binary frames of raw output; frames in are stdin",
            (101,), (403, 404, 409)),
        ("/api/containers/{name}/attach/ws", "get"): (
            "Websocket attach, JSON protocol (docs/websocket-protocol.md); replay=1, logs=1, "
            "record=1, shadow=1",
            (101,), (403, 404, 409)),
        ("/api/exec/{name}/ws", "get"): (
            "Websocket exec: starts (or attaches to) the session; rows, cols, replay=1, "
            "record=1, shadow=1",
            (101,), (403, 404, 409)),
        ("/api/events/ws", "get"): ("Events websocket: one JSON message per event "
                                    "(since, filters)", (101,), (400, 403)),
        ("/api/containers/{name}/spec", "get"): (
            "The container's spec as a %%ctr spec cell (format=toml|yaml|json): the applied "
            "spec, else one read back from its config", (200,), (400, 404)),
        ("/api/recordings", "get"): (
            "Terminal recordings the caller may see (?container=): [{Id, Container, "
            "ContainerName, ExecID, Owner, User, Lab, Started, Ended, Size, Duration, Width, "
            "Height}]", (200,), ()),
        ("/api/recordings/{name}", "get"): (
            "A recording: the asciicast v2 file (application/x-asciicast)", (200,), (404,)),
        ("/api/recordings/{name}", "delete"): ("Remove a recording", (204,), (404,)),
        ("/api/sessions", "get"): (
            "Live terminal sessions (websocket bridges) on containers the caller may inspect "
            "(?container=): [{Key, Container, ContainerName, ExecID, Owner, Clients, Viewers, "
            "Recording, RecordingID}]", (200,), ()),
        ("/openapi.json", "get"): ("This document", (200,), ()),
        # the checkpoint timeline (server/handlers/timeline.py)
        ("/api/containers/{name}/snapshots", "get"): (
            "A container's snapshots, oldest first: [{Name, Kind, Created, Size, Reason}]",
            (200,), (404,)),
        ("/api/containers/{name}/snapshots", "post"): (
            "Snapshot a container as ?step= (replace=1 to take it again): CRIU keeps it "
            "running; kind filesystem (with CRIU's Reason) where CRIU cannot",
            (201,), (400, 404, 409)),
        ("/api/containers/{name}/snapshots/{step}", "delete"): (
            "Remove a snapshot", (204,), (400, 404)),
        ("/api/containers/{name}/snapshots/{step}/rewind", "post"): (
            "Rewind the container to the snapshot in place", (200,), (400, 404, 409, 500)),
        ("/api/containers/{name}/snapshots/{step}/export", "get"): (
            "The snapshot as an archive (application/x-tar, gzip)", (200,), (400, 404)),
        ("/api/snapshots/import", "post"): (
            "A new container from an exported snapshot in the body (?name=): {Id, Name}",
            (201,), (400, 404, 409, 413)),
        # labs (ours): containers labelled jupyter-ctr.lab=<lab> (server/handlers/labs.py)
        ("/api/labs", "get"): ("Labs the caller sees: [{Name, Containers, Running, Owners}]",
                               (200,), ()),
        ("/api/labs/{lab}/{action}", "post"): (
            "Bulk action on every container of a lab (start, stop, reset with step, remove; "
            "timeout): {Lab, Action, Results: [{Id, Name, Owner, Ok, Error}]}, failures "
            "included; 400: unknown action or reset without step; 404: no container in the "
            "lab; 403: not an instructor (lab.bulk)", (200,), (400, 404)),
    })
    return ops


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), (summary, ok, errs) in sorted(operations().items()):
        parameters = []
        if "{version}" in path:
            parameters.append(_VERSION)
        if "{name}" in path:
            parameters.append(_NAME)
        parameters += [_PATH[key] for key in _PATH if f"{{{key}}}" in path]
        parameters += _QUERY.get((path, method), [])
        if "{step}" in path:
            parameters.append(_STEP)
        responses: dict[str, Any] = {str(code): {"description": "success"} for code in ok}
        for code in (*errs, 403):
            responses[str(code)] = _E
        paths.setdefault(path, {})[method] = {
            "summary": summary, "parameters": parameters, "responses": responses,
            "operationId": f"{method}{path.replace('/', '_').replace('{', '').replace('}', '')}",
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "jupyter_ctr container API", "version": jupyter_ctr.__version__,
                 "description": f"libpod v4 ({models.LIBPOD_API_VERSION}) and Docker Engine "
                                f"API {models.DOCKER_API_VERSION} compatible routes. Docker "
                                "paths also answer under a /v1.41-style prefix."},
        "servers": [{"url": "{base_url}ctr", "variables": {"base_url": {"default": "/"}}},
                    {"url": "/", "description": "jupyter-ctr service (unix socket)"}],
        "paths": paths,
        "components": {"responses": {"Error": {
            "description": "error: {cause, message, response}",
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["cause", "message", "response"],
                "properties": {"cause": {"type": "string"}, "message": {"type": "string"},
                               "response": {"type": "integer"}}}}}}}},
    }
