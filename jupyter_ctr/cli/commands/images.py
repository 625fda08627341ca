"""Image commands: image import, ls (images), rm (rmi), inspect, build-demo, build-debian,
history and prune, commit, tag and untag, and pull, push, load and save (top-level and
under ``image``, as podman has them)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import UTC, datetime

from ...engine.errors import InvalidArgumentError, NoSuchImageError
from ..exits import ENGINE_ERROR, each, print_error
from ..formatting import (
    ago,
    go_time,
    human_size,
    parse_format,
    print_formatted,
    print_json,
    print_table,
    short,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...service.door import Door

#: ``images --format 'table ...'`` headers that are not the field's name in capitals.
IMAGE_HEADERS = {"ID": "IMAGE ID", "Id": "IMAGE ID", "CreatedSince": "CREATED",
                 "CreatedTime": "CREATED AT"}


def cmd_import(door: Door, args: argparse.Namespace) -> int:
    print(door.import_image(args.path, args.reference).id)
    return 0


def cmd_ls(door: Door, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "images")
    listed, users = door.list_images()
    images = sorted(listed, key=lambda i: i.created, reverse=True)
    if fmt is not None:
        if fmt.is_json:
            print_json([image_json(img, users.get(img.id, 0)) for img in images])
        else:
            print_formatted(fmt, [row for img in images for row in image_fields(
                img, users.get(img.id, 0), time.time(), args.no_trunc)], IMAGE_HEADERS)
        return 0
    if args.quiet:
        for img in images:
            print(short(img.id, args.no_trunc))
        return 0
    now = time.time()
    rows = []
    for img in images:
        ident = f"sha256:{img.id}" if args.no_trunc else img.id[:12]
        created = ago(now - img.created)
        size = human_size(img.size, " ")
        for name in img.names or ["<none>:<none>"]:
            repo, _, tag = name.rpartition(":")
            rows.append([repo, tag, ident, created, size])
    print_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows)
    return 0


def cmd_rm(door: Door, args: argparse.Namespace) -> int:
    """podman's rmi: by one of several names only untag it ("Untagged: NAME"); the image
    goes with its last name or by ID (with several names only with -f)."""
    def remove(ref: str) -> str:
        report = door.remove_image(ref, force=args.force)
        deleted = [f"Deleted: {report.id}"] if report.removed else []
        return "\n".join([*(f"Untagged: {n}" for n in report.untagged), *deleted])

    return each(args.images, remove)


def cmd_inspect(door: Door, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "inspect")
    found, missing = [], []
    for ref in args.images:
        try:
            found.append(door.image(ref, "image.inspect").inspect())
        except NoSuchImageError as exc:
            missing.append(str(exc))
    if fmt is None or fmt.is_json:
        print_json(found)
    else:
        print_formatted(fmt, found)
    for message in missing:
        print_error(message)
    return ENGINE_ERROR if missing else 0


def cmd_build_demo(door: Door, args: argparse.Namespace) -> int:
    print(door.build_demo(args.reference).id)
    return 0


def cmd_build_debian(door: Door, args: argparse.Namespace) -> int:
    """Build (or take from the cache) a Debian rootfs with mmdebstrap on this host and import
    it; mmdebstrap's progress goes to stderr."""
    # mmdebstrap's driver pulls in hashlib, json and fcntl: only this command needs them.
    from ...engine.images import debian  # noqa: PLC0415 - lazy: only this command builds

    packages = [p for value in args.packages or [] for p in value.split(",") if p] or list(
        debian.DEFAULT_PACKAGES)
    tarball = debian.build_debian_rootfs(
        debian.DEFAULT_CACHE_DIR, packages=packages, rebuild=args.rebuild,
        progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(door.import_image(tarball, args.name).id)
    return 0


def cmd_commit(door: Door, args: argparse.Namespace) -> int:
    """``podman commit``: the new image's id on stdout (podman's copy progress, which -q
    hides, has no equivalent here: nothing is copied)."""
    image = door.commit(args.container, args.image or None, changes=args.change or [],
                        message=args.message, author=args.author, pause=args.pause)
    if args.iidfile:
        with open(args.iidfile, "w") as fh:
            fh.write(f"sha256:{image.id}")
    print(image.id)
    return 0


def cmd_tag(door: Door, args: argparse.Namespace) -> int:
    """``podman tag IMAGE TARGET...``: no output."""
    for target in args.targets:
        door.tag_image(args.image, target)
    return 0


def cmd_untag(door: Door, args: argparse.Namespace) -> int:
    """``podman untag IMAGE [NAME...]``: no output; without names, all the image's."""
    door.untag_image(args.image, args.names)
    return 0


#: ``image history``: CREATED BY is cut to this many characters, as podman does.
HISTORY_CREATED_BY_WIDTH = 45
HISTORY_HEADERS = {"CreatedSince": "CREATED", "CreatedBy": "CREATED BY"}


def history_fields(row: dict[str, Any], now: float, no_trunc: bool) -> dict[str, Any]:
    """What ``image history --format`` templates see (podman's names)."""
    ident = str(row["id"])
    if ident != "<missing>" and not no_trunc:
        ident = ident[:12]
    created_by = str(row["created_by"])
    if not no_trunc and len(created_by) > HISTORY_CREATED_BY_WIDTH:
        created_by = created_by[:HISTORY_CREATED_BY_WIDTH - 3] + "..."
    return {"ID": ident, "Created": ago(now - row["created"]),
            "CreatedSince": ago(now - row["created"]), "CreatedAt": go_time(row["created"]),
            "CreatedBy": created_by, "Size": human_size(row["size"], " "),
            "Comment": row["comment"], "Tags": list(row.get("tags") or [])}


def cmd_history(door: Door, args: argparse.Namespace) -> int:
    """``podman image history``: ID, CREATED, CREATED BY, SIZE, COMMENT, newest first."""
    fmt = parse_format(args.format, "history")
    rows = door.image_history(args.image)
    now = time.time()
    if fmt is not None and fmt.is_json:
        print_json([{"id": r["id"], "created": go_time(r["created"]),
                     "CreatedBy": r["created_by"], "size": int(r["size"]),
                     "comment": r["comment"], "tags": list(r.get("tags") or []) or None}
                    for r in rows])
        return 0
    fields = [history_fields(r, now, args.no_trunc) for r in rows]
    if fmt is not None:
        print_formatted(fmt, fields, HISTORY_HEADERS)
    elif args.quiet:
        for f in fields:
            print(f["ID"])
    else:
        print_table(["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                    [[f["ID"], f["Created"], f["CreatedBy"], f["Size"], f["Comment"]]
                     for f in fields])
    return 0


def cmd_prune(door: Door, args: argparse.Namespace) -> int:
    """``podman image prune``: without -f, asks first (on stdin, tty or not, as podman:
    no answer at all is an error); prints the ids removed."""
    if not args.force:
        what = ("all images without at least one container associated with them"
                if args.all else "all dangling images")
        print(f"WARNING! This command removes {what}.\n"
              "Are you sure you want to continue? [y/N] ", end="", flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print_error("no answer on stdin: use -f to prune without asking")
            return ENGINE_ERROR
        if not answer.strip().lower().startswith("y"):
            return 0
    for image in door.prune_images(all=args.all):
        print(image.id)
    return 0


def _progress(args: argparse.Namespace) -> Any:
    """Progress lines go to stderr (podman's), none with -q."""
    if args.quiet:
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


def cmd_pull(door: Door, args: argparse.Namespace) -> int:
    """``pull``: progress on stderr, the image's id on stdout."""
    img = door.pull_image(args.reference, tls_verify=args.tls_verify,
                          auth_file=args.authfile, progress=_progress(args))
    print(img.id, flush=True)
    return 0


def cmd_push(door: Door, args: argparse.Namespace) -> int:
    digest = door.push_image(args.source, args.destination, tls_verify=args.tls_verify,
                             auth_file=args.authfile, progress=_progress(args))
    if args.digestfile:
        with open(args.digestfile, "w") as fh:
            fh.write(digest)
    return 0


def cmd_load(door: Door, args: argparse.Namespace) -> int:
    """``load -i FILE`` or from stdin (refused from a terminal, as podman does); prints
    ``Loaded image: NAME`` for each name."""
    if args.input:
        images = door.load_images(args.input)
    else:
        stdin = getattr(sys.stdin, "buffer", None)  # none in a kernel (the magics)
        if stdin is None or sys.stdin.isatty():
            raise InvalidArgumentError("cannot read from terminal, use command-line "
                                       "redirection or the --input flag")
        images = _load_stdin(door, stdin)
    for img in images:
        for name in img.names or [f"sha256:{img.id}"]:
            print(f"Loaded image: {name}", flush=True)
    return 0


def _load_stdin(door: Door, stdin: Any) -> list[Any]:
    """Spool stdin to a private temporary file (an archive is read more than once)."""
    import shutil  # noqa: PLC0415 - lazy: only load from stdin copies a stream
    import tempfile  # noqa: PLC0415 - lazy: as above

    with tempfile.NamedTemporaryFile(prefix="jupyter-ctr-load-", suffix=".tar",
                                     dir=os.environ.get("TMPDIR", "/var/tmp")) as spool:
        shutil.copyfileobj(stdin, spool, 1 << 20)
        spool.flush()
        return list(door.load_images(spool.name))


def cmd_save(door: Door, args: argparse.Namespace) -> int:
    """``save -o FILE`` (a directory for oci-dir), or to stdout when it is not a terminal
    (podman's refusal otherwise). Several images in a docker-archive need -m."""
    if args.format == "docker-archive" and not args.multi_image_archive and \
            len({door.image(ref, "image.save").id for ref in args.images}) > 1:
        raise InvalidArgumentError("cannot save several images in one docker-archive "
                                   "without -m/--multi-image-archive")
    if args.format == "oci-dir":
        if not args.output:
            raise InvalidArgumentError("oci-dir needs a directory: use -o DIR")
        door.save_images(args.images, args.output, format="oci-dir", compress=args.compress)
        return 0
    if not args.output:
        stdout = getattr(sys.stdout, "buffer", None)  # none in a kernel (the magics)
        if stdout is None or sys.stdout.isatty():
            raise InvalidArgumentError("refusing to save to terminal. Use -o flag or "
                                       "redirect")
        sys.stdout.flush()
        door.save_images(args.images, stdout, format=args.format, compress=args.compress)
        stdout.flush()
        return 0
    try:
        with open(args.output, "wb") as out:
            door.save_images(args.images, out, format=args.format, compress=args.compress)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(args.output)
        raise
    return 0


def image_fields(img: Any, containers: int, now: float,
                 no_trunc: bool) -> list[dict[str, Any]]:
    """What ``images --format`` templates see (podman's names), one row per name."""
    digest = img.digest or f"sha256:{img.id}"
    created_ago = ago(now - img.created)
    created = go_time(img.created)
    rows = []
    for name in img.names or ["<none>:<none>"]:
        repo, _, tag = name.rpartition(":")
        rows.append({
            "ID": f"sha256:{img.id}" if no_trunc else img.id[:12], "Id": img.id,
            "Repository": repo, "Tag": tag, "Digest": digest, "Created": created_ago,
            "CreatedSince": created_ago, "CreatedAt": created, "CreatedTime": created,
            "Size": human_size(img.size, " "), "VirtualSize": int(img.size), "SharedSize": 0,
            "Names": list(img.names), "Labels": dict(img.config.get("Labels") or {}),
            "Dangling": not img.names, "Containers": containers, "ReadOnly": False,
            "History": ", ".join(img.names), "RepoTags": list(img.names),
            "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in img.names],
        })
    return rows


def image_json(img: Any, containers: int) -> dict[str, Any]:
    """One element of ``images --format json`` (the libpod summary, plus CreatedAt)."""
    # typing, platform and shlex come with the server's models: not for the images table.
    from ...server.models import image_libpod_summary  # noqa: PLC0415 - lazy: --format json

    item = image_libpod_summary(img, containers)
    item["CreatedAt"] = datetime.fromtimestamp(int(img.created), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    return item
