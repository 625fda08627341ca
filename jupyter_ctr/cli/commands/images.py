"""Image commands: image import, ls (images), rm (rmi), inspect, build-demo and build-debian."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from ...engine.errors import NoSuchImageError
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
    def remove(ref: str) -> str:
        image, image_id = door.remove_image(ref)
        names = image.names
        return "\n".join([*(f"Untagged: {n}" for n in names), f"Deleted: {image_id}"])

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
