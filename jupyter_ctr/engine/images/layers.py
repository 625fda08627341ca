"""Image layers: apply one OCI/Docker layer tarball into a directory in overlayfs lower-layer
format (as containers/storage's overlay driver keeps layers), and write such a directory back
as a layer tarball.

The overlay format: a whiteout ``.wh.NAME`` becomes a character device 0:0 named NAME, an
opaque marker ``.wh..wh..opq`` becomes the xattr ``trusted.overlay.opaque=y`` on its directory.
Everything else is kept as the layer has it: owners, modes (setuid, setgid, sticky), mtimes,
xattrs from PAX headers (``security.capability``: file capabilities), hardlinks, fifos, and
symlinks exactly as written, absolute or climbing with ``..``: they only ever resolve inside
the container, at run time. Device nodes are skipped with a note.

A layer is untrusted input. Nothing is ever written through a link on the host: each parent
directory is opened component by component with ``O_NOFOLLOW`` from a descriptor of the
destination, files are created with ``O_EXCL | O_NOFOLLOW``. Absolute names, ``..``
components, hardlinks to anything but a regular file written earlier in the same layer,
truncated or corrupt data and anything over the archive limits are refused with an
InvalidArgumentError naming the member, and the destination is emptied again.

Only imports, pulls and saves load this module (tarfile and the decompressors).
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import hashlib
import lzma
import os
import queue
import stat
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from ..errors import InvalidArgumentError
from ..storage import remove_tree
from .archive import (
    COMPRESSION_MAGIC,
    MAX_TRAILING,
    ZSTD_MAGIC,
    BoundedTarInfo,
    HugeHeaderError,
    MemberGuard,
    is_corrupt_archive_error,
    name_parts,
    size_text,
)
from .records import ArchiveLimits

if TYPE_CHECKING:
    from collections.abc import Iterator

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
#: The xattr overlayfs reads to hide a lower directory's content.
OPAQUE_XATTR = "trusted.overlay.opaque"
#: overlayfs' own metadata: a layer must never set it (redirects, metacopy, origin...).
_OVERLAY_XATTRS = "trusted.overlay."
_PAX_XATTR = "SCHILY.xattr."
_CHUNK = 1 << 20
#: Directory descriptors kept open while a layer is applied (see _Applier.open_parent).
_MAX_DIR_FDS = 256
#: Errors writing a member that come from the member itself.
_MEMBER_ERRNOS = (errno.ENAMETOOLONG, errno.EMLINK, errno.EINVAL, errno.EEXIST)
_BLOCK = 512
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class LayerReport:
    """What ``apply_layer`` found in one layer."""

    #: ``sha256:<hex>`` of the uncompressed tar stream (the config's rootfs.diff_ids entry).
    diff_id: str = ""
    #: ``sha256:<hex>`` of the bytes as read (the manifest's layer digest when compressed).
    compressed_digest: str = ""
    #: ``plain``, ``gzip``, ``bzip2``, ``xz`` or ``zstd``.
    compression: str = "plain"
    #: Bytes of the uncompressed tar stream.
    tar_size: int = 0
    #: Bytes of the regular files written (a hardlinked file counted once) and of the
    #: symlinks' targets: the layer's content, as ``images`` counts it.
    size: int = 0
    #: Members applied, the root directory entry not counted.
    members: int = 0
    whiteouts: int = 0
    #: Things skipped or not kept (device nodes, unsupported xattrs), one line each.
    notes: list[str] = field(default_factory=list)


# -- reading ------------------------------------------------------------------------------

class _HashingReader:
    """Hashes and counts what is read through it; remembers the last bytes read so that the
    end-of-archive blocks can be checked after tarfile has consumed them."""

    _WINDOW = 64 << 10

    def __init__(self, fh: IO[bytes], prefix: bytes = b"") -> None:
        self.fh = fh
        self.prefix = prefix
        self.sha = hashlib.sha256()
        self.count = 0
        self.window = bytearray()

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            data = self.prefix if size < 0 else self.prefix[:size]
            self.prefix = self.prefix[len(data):]
        else:
            data = self.fh.read(size)
        self.sha.update(data)
        self.count += len(data)
        self.window += data
        if len(self.window) > self._WINDOW:
            del self.window[:len(self.window) - self._WINDOW]
        return data

    def since(self, offset: int) -> bytes:
        """The bytes read from ``offset`` on, if still in the window."""
        start = len(self.window) - (self.count - offset)
        if start < 0:
            raise ValueError("offset is out of the window")
        return bytes(self.window[start:])

    def digest(self) -> str:
        return f"sha256:{self.sha.hexdigest()}"


class _ZstdProcess:
    """``zstd -dc`` fed from a file object by a thread: for when the zstandard module is
    missing."""

    def __init__(self, source: IO[bytes], origin: str) -> None:
        try:
            self.proc = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise InvalidArgumentError(
                f"{origin} is zstd-compressed, and neither the zstandard Python module nor "
                "the zstd program is installed: decompress it first (zstd -d)") from None
        self.source = source
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while chunk := self.source.read(_CHUNK):
                stdin.write(chunk)
        except (OSError, ValueError):
            pass  # zstd stopped reading (error or closed): finish() reports it
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def read(self, size: int = -1) -> bytes:
        return self.stdout.read(size)

    def finish(self) -> None:
        """Wait for zstd; a corrupt or truncated stream is an error (raised as EOFError)."""
        self.stdout.read()
        self.feeder.join()
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        if self.proc.wait() != 0:
            raise EOFError(f"zstd: {err.decode(errors='replace').strip()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.feeder.join()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class _ReadAhead:
    """Reads a decompressing stream in a thread, a few chunks ahead of the tar reader.

    Applying a layer waits mostly on the kernel creating files; zlib, bz2 and lzma release
    the GIL while they decompress, so with the decompression (and the compressed digest) in
    a thread the two overlap instead of taking turns. An error of the stream is raised by
    the ``read`` that reaches it, as the same exception."""

    _DEPTH = 4  # chunks of _CHUNK bytes read ahead at most

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.chunks: queue.Queue[bytes | BaseException] = queue.Queue(self._DEPTH)
        self.buffer = b""
        self.pos = 0
        self.error: BaseException | None = None
        self.eof = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="layer-read-ahead", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stopped.is_set():
                data = self.source.read(_CHUNK)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest if negative); b"" only at the end."""
        if size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        if self.pos >= len(self.buffer):
            if self.error is not None:
                raise self.error
            if self.eof or size == 0:
                return b""
            item = self.chunks.get()
            if isinstance(item, BaseException):
                self.error = item
                raise item
            if not item:
                self.eof = True
                return b""
            self.buffer, self.pos = item, 0
        data = self.buffer[self.pos:self.pos + size]
        self.pos += len(data)
        return data

    def close(self) -> None:
        """Stop the thread and wait for it (it is done with the source afterwards)."""
        self.stopped.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.chunks.get(timeout=0.05)
        self.thread.join()


def _compression(magic: bytes) -> str:
    if magic.startswith(ZSTD_MAGIC):
        return "zstd"
    return next((kind for m, kind in COMPRESSION_MAGIC if magic.startswith(m)), "plain")


def _decompressor(raw: _HashingReader, kind: str,
                  origin: str) -> tuple[IO[bytes], _ZstdProcess | None]:
    fileobj = cast("BinaryIO", raw)  # it has read(), all the decompressors use
    if kind == "gzip":
        return cast("IO[bytes]", gzip.GzipFile(fileobj=fileobj, mode="rb")), None
    if kind == "bzip2":
        return bz2.BZ2File(fileobj), None
    if kind == "xz":
        return lzma.LZMAFile(fileobj), None
    if kind == "zstd":
        try:
            import zstandard  # type: ignore[import-not-found]  # noqa: PLC0415 - optional dependency
        except ImportError:
            proc = _ZstdProcess(raw, origin)  # type: ignore[arg-type]
            return proc, proc  # type: ignore[return-value]
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return reader, None
    return raw, None  # type: ignore[return-value]


# -- applying -----------------------------------------------------------------------------

class _Applier:
    """Writes the members of one layer below the directory descriptor ``root_fd``."""

    def __init__(self, tar: tarfile.TarFile, root_fd: int, dest: Path, guard: MemberGuard,
                 report: LayerReport) -> None:
        self.tar = tar
        self.root_fd = root_fd
        self.dest = dest
        self.guard = guard
        self.report = report
        #: (parts, mtime) of each directory: set after everything below is written.
        self.dir_times: list[tuple[list[str], float]] = []
        self.current = ""
        self.dir_fds: dict[tuple[str, ...], int] = {}

    def refuse(self, reason: str) -> InvalidArgumentError:
        return self.guard.refuse(self.current, reason)

    def open_parent(self, parts: list[str], *, create: bool = True,
                    what: str = "would be written") -> int:
        """A descriptor of the directory holding ``parts`` (missing ones created 0755 when
        ``create``), opened one component at a time without following any symlink.

        Descriptors are cached by path (``close_dirs`` closes them): a directory opened once
        stays the same directory, as nothing here ever removes or replaces one."""
        key = tuple(parts[:-1])
        depth = len(key)
        while depth > 0 and key[:depth] not in self.dir_fds:
            depth -= 1
        fd = self.root_fd if depth == 0 else self.dir_fds[key[:depth]]
        for i in range(depth, len(key)):
            part = key[i]
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                os.chmod(part, 0o755, dir_fd=fd)  # whatever the umask
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                prefix = "/".join(key[:i + 1])
                if stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode):
                    raise self.refuse(f"{what} through the symlink {prefix!r}") from None
                raise self.refuse(f"{what} below {prefix!r}, which is not a directory") from None
            self.dir_fds[key[:i + 1]] = nfd
            fd = nfd
        return fd

    def close_dirs(self) -> None:
        for fd in self.dir_fds.values():
            os.close(fd)
        self.dir_fds.clear()

    def apply(self) -> None:
        try:
            self._apply()
        finally:
            self.close_dirs()

    def _apply(self) -> None:
        for member in self.tar:
            if len(self.dir_fds) > _MAX_DIR_FDS:
                self.close_dirs()
            self.current = member.name
            self.guard.check_limits(member, str(self.dest))
            parts = name_parts(member.name)
            if parts is None:
                why = ("has an absolute path" if member.name.startswith("/")
                       else "has a '..' component")
                raise self.refuse(why)
            if not parts:
                if not member.isdir():
                    raise self.refuse("would replace the layer root with a non-directory")
                self._metadata_fd(self.root_fd, member)
                self.dir_times.append(([], member.mtime))
                continue
            self.report.members += 1
            base = parts[-1]
            if base.startswith(WHITEOUT_PREFIX):
                self._whiteout(parts, member)
                continue
            self._member(self.open_parent(parts), parts, member)
        for parts, mtime in reversed(self.dir_times):
            if len(self.dir_fds) > _MAX_DIR_FDS:
                self.close_dirs()
            self._set_dir_time(parts, mtime)

    def _whiteout(self, parts: list[str], member: tarfile.TarInfo) -> None:
        base = parts[-1]
        pfd = self.open_parent(parts)
        if base == OPAQUE_MARKER:
            os.setxattr(pfd, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX * 2):
            self.report.notes.append(f"{member.name}: aufs metadata, skipped")
            return
        hidden = base[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise self.refuse("is a whiteout of no valid name")
        self._clear(pfd, hidden, directory=False)
        os.mknod(hidden, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
        os.chown(hidden, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
        self.report.whiteouts += 1

    def _clear(self, pfd: int, base: str, *, directory: bool) -> bool:
        """Make room for a new entry ``base``: an earlier non-directory is removed (never
        followed); True if a directory is there already (kept for a directory)."""
        try:
            st = os.lstat(base, dir_fd=pfd)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if not directory:
                raise self.refuse("would replace a directory with a non-directory")
            return True
        os.unlink(base, dir_fd=pfd)
        return False

    def _member(self, pfd: int, parts: list[str], member: tarfile.TarInfo) -> None:
        base = parts[-1]
        if member.isdir():
            if not self._clear(pfd, base, directory=True):
                os.mkdir(base, 0o700, dir_fd=pfd)
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
            try:
                self._metadata_fd(fd, member)
            finally:
                os.close(fd)
            self.dir_times.append((parts, member.mtime))
        elif member.isreg():
            self._clear(pfd, base, directory=False)
            self._regular(pfd, base, member)
        elif member.issym():
            target = member.linkname
            if not target or "\0" in target:
                raise self.refuse("is a symlink with an empty or invalid target")
            self._clear(pfd, base, directory=False)
            os.symlink(target, base, dir_fd=pfd)
            self.report.size += len(os.fsencode(target))
            os.chown(base, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
            os.utime(base, ns=(_ns(member.mtime),) * 2, dir_fd=pfd, follow_symlinks=False)
            if _xattrs(member):
                self.report.notes.append(f"{member.name}: xattrs on a symlink not kept")
        elif member.islnk():
            self._hardlink(pfd, parts, member)
        elif member.isfifo():
            self._clear(pfd, base, directory=False)
            os.mkfifo(base, 0o600, dir_fd=pfd)
            os.chown(base, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
            os.chmod(base, member.mode & 0o7777, dir_fd=pfd)  # a fifo just made: no link
            os.utime(base, ns=(_ns(member.mtime),) * 2, dir_fd=pfd, follow_symlinks=False)
        elif member.ischr() or member.isblk():
            kind = "character" if member.ischr() else "block"
            self.report.notes.append(
                f"{member.name}: {kind} device {member.devmajor}:{member.devminor} skipped "
                "(containers get their devices from the runtime)")
        else:
            raise self.refuse(f"has the unsupported tar type {member.type!r}")

    def _regular(self, pfd: int, base: str, member: tarfile.TarInfo) -> None:
        fd = os.open(base, _NEW_FILE_FLAGS, 0o600, dir_fd=pfd)
        with open(fd, "wb") as out:
            src = self.tar.extractfile(member)
            if src is None:  # pragma: no cover - isreg() members always have data
                raise self.refuse("has no data")
            remaining = member.size
            while remaining > 0:
                chunk = src.read(min(_CHUNK, remaining))
                if not chunk:
                    raise tarfile.ReadError("unexpected end of data")
                out.write(chunk)
                remaining -= len(chunk)
            out.flush()
            # After the data (a write drops capabilities) and in this order: chown clears
            # setuid bits and security.capability.
            self._metadata_fd(fd, member)
        self.report.size += member.size

    def _hardlink(self, pfd: int, parts: list[str], member: tarfile.TarInfo) -> None:
        link_parts = name_parts(member.linkname)
        if not link_parts:
            raise self.refuse(f"is a hardlink to {member.linkname!r}, which is outside the "
                              "layer")
        not_earlier = self.refuse(
            f"is a hardlink to {member.linkname!r}, which is not a regular file extracted "
            "earlier from the archive")
        if link_parts == parts:
            raise not_earlier
        try:
            tfd = self.open_parent(link_parts, create=False, what="is a hardlink reaching")
            st = os.lstat(link_parts[-1], dir_fd=tfd)
        except FileNotFoundError:
            raise not_earlier from None
        if not stat.S_ISREG(st.st_mode):
            raise not_earlier
        self._clear(pfd, parts[-1], directory=False)
        os.link(link_parts[-1], parts[-1], src_dir_fd=tfd, dst_dir_fd=pfd,
                follow_symlinks=False)

    def _metadata_fd(self, fd: int, member: tarfile.TarInfo) -> None:
        """Owner, mode, xattrs and (but for directories) mtime of an open file or
        directory."""
        os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, member.mode & 0o7777)
        for name, value in _xattrs(member):
            if name.startswith(_OVERLAY_XATTRS):
                self.report.notes.append(f"{member.name}: overlay xattr {name} not kept")
                continue
            try:
                os.setxattr(fd, name, value)
            except OSError as exc:
                self.report.notes.append(f"{member.name}: xattr {name} not kept "
                                         f"({exc.strerror})")
        if not member.isdir():
            os.utime(fd, ns=(_ns(member.mtime),) * 2)

    def _set_dir_time(self, parts: list[str], mtime: float) -> None:
        if not parts:
            os.utime(self.root_fd, ns=(_ns(mtime),) * 2)
            return
        pfd = self.open_parent(parts, create=False)
        os.utime(parts[-1], ns=(_ns(mtime),) * 2, dir_fd=pfd, follow_symlinks=False)


def _ns(mtime: float) -> int:
    return int(mtime * 1_000_000_000)


def _xattrs(member: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    """The xattrs in a member's PAX headers, as bytes (tarfile decodes binary values with
    surrogateescape; encoding them back gives the original bytes)."""
    return [(key[len(_PAX_XATTR):], value.encode("utf-8", "surrogateescape"))
            for key, value in member.pax_headers.items()
            if key.startswith(_PAX_XATTR) and len(key) > len(_PAX_XATTR)]


def _check_end(plain: _HashingReader, end: int, origin: str) -> None:
    """tarfile stops quietly at a short or unreadable header: the two zero blocks that end a
    tar archive must really be there, or the archive was cut or damaged."""
    while plain.count < end + 2 * _BLOCK and plain.read(_CHUNK):
        pass
    tail = plain.since(end)[:2 * _BLOCK]
    if len(tail) < 2 * _BLOCK:
        raise InvalidArgumentError(
            f"{origin} is not a valid tar archive: it is truncated (it ends after "
            f"{plain.count} bytes, without the end-of-archive blocks)")
    if tail.count(0) != len(tail):
        raise InvalidArgumentError(
            f"{origin} is not a valid tar archive: it is corrupt (no valid tar header at "
            f"offset {end})")


def _drain(plain: _HashingReader, end: int, origin: str) -> None:
    """Read to the end of the stream: the diff_id covers it all, and the decompressor
    checks its CRC. Bounded: a gzip stream can go on inflating zeros after the archive."""
    while plain.read(_CHUNK):
        if plain.count - end > MAX_TRAILING:
            raise InvalidArgumentError(
                f"refusing to import {origin}: more than {size_text(MAX_TRAILING)} of data "
                "follow the end of the tar archive")


def apply_layer(source: str | os.PathLike[str] | BinaryIO, dest: Path, *, origin: str,
                limits: ArchiveLimits | None = None) -> LayerReport:
    """Apply one layer tarball (a path or a binary file object; plain, gzip, bzip2, xz or
    zstd) into the empty directory ``dest`` in overlayfs lower-layer format.

    Returns a LayerReport (diff_id, compressed digest, sizes, notes). Raises
    InvalidArgumentError for an unsafe, corrupt, truncated or over-limit layer; ``dest`` is
    empty again then.
    """
    dest = Path(dest)
    guard = MemberGuard(origin, limits)
    report = LayerReport()
    owned: IO[bytes] | None = None
    if isinstance(source, (str, os.PathLike)):
        try:
            owned = open(source, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read {origin}: {exc.strerror}") from exc
        fh: IO[bytes] = owned
    else:
        fh = source
    root_fd = os.open(dest, _DIR_FLAGS)
    zstd: _ZstdProcess | None = None
    ahead: _ReadAhead | None = None
    stage = "opening"
    try:
        if os.listdir(root_fd):
            raise InvalidArgumentError(f"cannot apply {origin}: {dest} is not empty")
        magic = fh.read(6)
        raw = _HashingReader(fh, magic)
        report.compression = _compression(magic)
        stream, zstd = _decompressor(raw, report.compression, origin)
        if report.compression not in ("plain", "zstd"):  # zstd: its own process, or module
            ahead = _ReadAhead(stream)
            stream = cast("IO[bytes]", ahead)
        plain = _HashingReader(stream)
        applier: _Applier | None = None
        try:
            tar = tarfile.open(fileobj=plain, mode="r|",  # type: ignore[call-overload]
                               tarinfo=BoundedTarInfo, encoding="utf-8",
                               errors="surrogateescape")
            stage = "reading"
            applier = _Applier(tar, root_fd, dest, guard, report)
            applier.apply()
            applier.current = ""
            end = tar.offset
            _check_end(plain, end, origin)
            _drain(plain, end, origin)
            if zstd is not None:
                zstd.finish()
        except (InvalidArgumentError, MemoryError, KeyboardInterrupt):
            raise
        except HugeHeaderError as exc:
            raise InvalidArgumentError(f"refusing to import {origin}: {exc}") from None
        except Exception as exc:
            member = applier.current if applier is not None else ""
            where = f" (at member {member!r})" if member else ""
            if isinstance(exc, OSError) and exc.errno in _MEMBER_ERRNOS and member:
                # the member's own fault (a name too long, too many links), not the disk's
                raise guard.refuse(member, f"cannot be written: {exc.strerror}") from exc
            if not is_corrupt_archive_error(exc) and not isinstance(exc, EOFError):
                raise
            if stage == "opening" or (plain.count == 0 and not member):
                detail = ("it is empty" if not magic else
                          f"{report.compression} data that is truncated or corrupt"
                          if report.compression != "plain" else "unknown format")
                raise InvalidArgumentError(
                    f"{origin} is not a valid tar archive (plain, gzip, bzip2, xz or zstd): "
                    f"{detail}") from exc
            raise InvalidArgumentError(
                f"{origin} is not a valid tar archive: it is truncated or corrupt{where} "
                f"({exc})") from exc
        if ahead is not None:
            ahead.close()  # done with raw: its digest is complete
        report.tar_size = plain.count
        report.diff_id = plain.digest()
        report.compressed_digest = raw.digest()
        return report
    except BaseException:
        _empty_dir(root_fd, dest)
        raise
    finally:
        os.close(root_fd)
        if ahead is not None:
            ahead.close()
        if zstd is not None:
            zstd.close()
        if owned is not None:
            owned.close()


def _empty_dir(root_fd: int, dest: Path) -> None:
    for name in os.listdir(root_fd):
        path = dest / name
        st = os.lstat(name, dir_fd=root_fd)
        if stat.S_ISDIR(st.st_mode):
            remove_tree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=root_fd)


# -- writing ------------------------------------------------------------------------------

class _HashingWriter:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.count += len(data)
        self.out.write(data)
        return len(data)


def _walk(root: Path) -> Iterator[tuple[str, str]]:
    """(full path, relative name) of everything below ``root``, sorted, parents first; never
    entering a symlink."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            yield os.path.join(dirpath, name), name if rel_dir == "." else f"{rel_dir}/{name}"


def layer_dir_to_tar(diff_dir: Path, out: BinaryIO) -> str:
    """Write the layer directory ``diff_dir`` (overlay format) to ``out`` as an uncompressed
    OCI layer tarball (whiteouts as ``.wh.`` files, opaque directories as ``.wh..wh..opq``,
    xattrs as PAX headers); returns its diff_id (``sha256:<hex>``)."""
    writer = _HashingWriter(out)
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                      encoding="utf-8", errors="surrogateescape") as tar:
        for full, rel in _walk(Path(diff_dir)):
            st = os.lstat(full)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                head, _, name = rel.rpartition("/")
                info = tarfile.TarInfo(f"{head}/{WHITEOUT_PREFIX}{name}" if head
                                       else f"{WHITEOUT_PREFIX}{name}")
                info.uid, info.gid, info.mtime = st.st_uid, st.st_gid, int(st.st_mtime)
                tar.addfile(info)
                continue
            if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)
                    or stat.S_ISLNK(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
                continue  # devices and sockets are no image content
            info = tar.gettarinfo(full, arcname=rel)
            info.uname = info.gname = ""
            xattrs = {} if stat.S_ISLNK(st.st_mode) else _read_xattrs(full)
            opaque = xattrs.pop(OPAQUE_XATTR, None) == b"y"
            xattrs = {k: v for k, v in xattrs.items() if not k.startswith(_OVERLAY_XATTRS)}
            if xattrs:
                info.pax_headers = {f"{_PAX_XATTR}{k}": v.decode("utf-8", "surrogateescape")
                                    for k, v in sorted(xattrs.items())}
            if info.isreg():
                with open(full, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
            if opaque:
                marker = tarfile.TarInfo(f"{rel}/{OPAQUE_MARKER}")
                marker.mtime = int(st.st_mtime)
                tar.addfile(marker)
    return f"sha256:{writer.sha.hexdigest()}"


def _read_xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    found = {}
    for name in names:
        with contextlib.suppress(OSError):
            found[name] = os.getxattr(path, name, follow_symlinks=False)
    return found


def tree_size(root: Path) -> int:
    """Bytes of the regular files below ``root``, each hardlinked file once (a layer's or an
    image's size, as ``images`` shows it)."""
    size = 0
    seen: set[int] = set()
    for full, _ in _walk(root):
        st = os.lstat(full)
        if stat.S_ISREG(st.st_mode) and st.st_ino not in seen:
            seen.add(st.st_ino)
            size += st.st_size
        elif stat.S_ISLNK(st.st_mode):
            size += st.st_size
    return size
