"""Layer streams read out of an archive: bounded, hashed, decompressed, and verified.

A layer blob inside an archive is a byte range (a tar member or a file). ``LayerReader`` reads
it as the uncompressed layer tarball: gzip and zstd are recognised by their magic bytes (zstd
through the ``zstd`` tool, which this Python cannot decode), the blob's sha256 and its
uncompressed sha256 (the diff id) are computed on the way and compared with what the manifest
and the image config promise when the stream ends. Nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import subprocess
import threading
import zlib
from typing import IO, Any, Protocol

from ... import procs
from ...errors import InvalidArgumentError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20

def size_text(n: int) -> str:
    """``1.5 GiB``: a size in a message."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} bytes"


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Section(io.RawIOBase):
    """``size`` bytes of ``fh`` from its current position; short data is an error (a
    truncated archive), never a silent end."""

    def __init__(self, fh: Readable, size: int, what: str) -> None:
        super().__init__()
        self._fh = fh
        self._left = size
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        data = self._fh.read(want)
        if not data:
            raise InvalidArgumentError(f"{self._what} is truncated: {self._left} bytes missing")
        n = len(data)
        view[:n] = data
        self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class _HashingSource:
    """Reads a blob once, hashing and counting every byte, with a small look-ahead for the
    compression magic."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.count = 0
        self._pending = b""

    def peek(self, n: int) -> bytes:
        while len(self._pending) < n:
            data = self.raw.read(n - len(self._pending))
            if not data:
                break
            self._pending += data
        return self._pending[:n]

    def read(self, n: int = -1) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            if n >= 0 and len(data) > n:
                data, self._pending = data[:n], data[n:]
        else:
            data = self.raw.read(n if n >= 0 else _CHUNK)
        self.sha.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class _ZstdDecoder:
    """``zstd -dc`` fed from ``source`` by a thread; reads give the decoded bytes."""

    def __init__(self, source: _HashingSource) -> None:
        self.proc = subprocess.Popen([procs.find_binary("zstd"), "-dcq"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.error: BaseException | None = None
        self._source = source
        self._feeder = threading.Thread(target=self._feed, name="zstd-feed", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while data := self._source.read(_CHUNK):
                stdin.write(data)
        except BrokenPipeError:
            pass  # zstd stopped (bad data, or closed early): its exit status says which
        except BaseException as exc:  # re-raised in the reader's thread by finish()
            self.error = exc
        finally:
            try:
                stdin.close()
            except BrokenPipeError:
                pass

    def read(self, n: int) -> bytes:
        assert self.proc.stdout is not None
        return self.proc.stdout.read(n)

    def finish(self) -> str | None:
        """Wait for zstd; the problem if it failed, else None."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self._feeder.join()
        err = self.proc.stderr.read(4096).decode(errors="replace").strip()
        self.proc.stderr.close()
        rc = self.proc.wait()
        if self.error is not None:
            raise self.error
        return f"zstd failed (exit {rc}): {err}" if rc != 0 else None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        # Closing early: whatever zstd or the feeder hit no longer matters.
        with contextlib.suppress(Exception):
            self.finish()


class LayerReader(io.RawIOBase):
    """The uncompressed tarball of one layer blob, checked as it is read.

    ``blob_hex`` (the blob's sha256, when the archive names it) and ``diff_hex`` (the config's
    diff id) are compared with what was read when the stream reaches its end, and when a
    ``with`` block around it ends without an exception (what is left is read first: tar
    readers stop at the end-of-archive blocks). ``max_size`` bounds the uncompressed bytes.
    """

    def __init__(self, raw: IO[bytes], *, what: str, blob_hex: str | None,
                 diff_hex: str | None, max_size: int) -> None:
        super().__init__()
        self.what = what
        self._blob_hex = blob_hex
        self._diff_hex = diff_hex
        self._max_size = max_size
        self._source = _HashingSource(raw)
        self._diff = hashlib.sha256()
        self.size = 0
        self._done = False
        magic = self._source.peek(4)
        self._zstd: _ZstdDecoder | None = None
        self._decoder: Any
        if magic.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._decoder = gzip.GzipFile(fileobj=self._source, mode="rb")  # type: ignore[call-overload]
        elif magic.startswith(ZSTD_MAGIC):
            self.compression = "zstd"
            self._zstd = self._decoder = _ZstdDecoder(self._source)
        else:
            self.compression = ""
            self._decoder = self._source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        try:
            data = self._decoder.read(len(view))
        except InvalidArgumentError:
            raise
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidArgumentError(
                f"{self.what} is not valid {self.compression or 'tar'} data: {exc}") from exc
        if not data:
            self._finish()
            return 0
        n = len(data)
        self.size += n
        if self.size > self._max_size:
            raise InvalidArgumentError(
                f"{self.what} unpacks to more than {size_text(self._max_size)} "
                "(the archive_max_size limit)")
        self._diff.update(data)
        view[:n] = data
        return n

    def _finish(self) -> None:
        self._done = True
        if self._zstd is not None:
            problem = self._zstd.finish()
            if problem:
                raise InvalidArgumentError(f"{self.what} is not valid zstd data: {problem}")
        self._source.drain()
        if self._blob_hex is not None and self._source.sha.hexdigest() != self._blob_hex:
            raise InvalidArgumentError(
                f"{self.what} does not match its digest sha256:{self._blob_hex} "
                f"(its content hashes to sha256:{self._source.sha.hexdigest()})")
        if self._diff_hex is not None and self._diff.hexdigest() != self._diff_hex:
            raise InvalidArgumentError(
                f"{self.what} does not match the image config's diff id sha256:{self._diff_hex}"
                f" (its uncompressed content hashes to sha256:{self._diff.hexdigest()})")

    def verify(self) -> str:
        """Read what is left and check the digests; return the diff id (``sha256:...``)."""
        while not self._done:
            self.read(_CHUNK)
        return f"sha256:{self._diff.hexdigest()}"

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None and not self.closed:
                self.verify()
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            if self._zstd is not None and not self._done:
                self._zstd.kill()
            self._source.raw.close()
        super().close()
