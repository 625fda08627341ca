"""CheckpointOptions, CheckpointStats and the option checks (engine/checkpoint/options.py):
what is refused, and with which error, before anything is touched."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine.checkpoint import options
from jupyter_ctr.engine.checkpoint.options import (
    COMPRESSIONS,
    CheckpointOptions,
    CheckpointStats,
    check_options,
    check_restore_runtime,
    merge_options,
)
from jupyter_ctr.engine.errors import InvalidArgumentError, NotImplementedCtrError

#: libpod's ContainerCheckpointOptions, field by field (snake case), and the engine's own.
LIBPOD_FIELDS = {
    "keep", "keep_running", "tcp_established", "tcp_close", "target_file",
    "checkpoint_image_id", "name", "ignore_rootfs", "ignore_static_ip", "ignore_static_mac",
    "ignore_volumes", "pre_checkpoint", "with_previous", "import_previous", "create_image",
    "compression", "pod", "print_stats", "file_locks",
}


def test_every_libpod_field() -> None:
    fields = set(CheckpointOptions.__dataclass_fields__)
    assert fields == LIBPOD_FIELDS | {"include_image"}


def test_merge_options() -> None:
    base = CheckpointOptions(keep=True)
    assert merge_options(None, {}) == CheckpointOptions()
    assert merge_options(base, {}) is base
    merged = merge_options(base, {"print_stats": True})
    assert merged.keep and merged.print_stats and not base.print_stats
    with pytest.raises(InvalidArgumentError, match="unknown checkpoint option.*known: keep"):
        merge_options(None, {"leave_running": True})
    with pytest.raises(InvalidArgumentError, match="unknown checkpoint option"):
        merge_options(base, {"export": "x"})


@pytest.mark.parametrize("verb", ["checkpoint", "restore"])
@pytest.mark.parametrize("opts,error,match", [
    (CheckpointOptions(pre_checkpoint=True), NotImplementedCtrError, "pre_checkpoint"),
    (CheckpointOptions(with_previous=True), NotImplementedCtrError, "with_previous"),
    (CheckpointOptions(import_previous="x.tar"), NotImplementedCtrError, "import_previous"),
    (CheckpointOptions(create_image="img"), NotImplementedCtrError, "checkpoint images"),
    (CheckpointOptions(checkpoint_image_id="abc"), NotImplementedCtrError, "checkpoint images"),
    (CheckpointOptions(pod="p"), NotImplementedCtrError, "no pods"),
    (CheckpointOptions(compression="zstd"), InvalidArgumentError, "compression 'zstd'"),
    (CheckpointOptions(compression=1), InvalidArgumentError, "compression 1"),  # type: ignore[arg-type]
], ids=["pre", "with-previous", "import-previous", "create-image", "image-id", "pod", "zstd",
        "not-text"])
def test_refused_for_both_verbs(verb: str, opts: CheckpointOptions, error: type[Exception],
                                match: str) -> None:
    with pytest.raises(error, match=match):
        check_options(opts, verb, "/nonexistent/criu")


def test_pre_dump_refusal_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CRIU (or without dirty tracking) the reason is the kernel; with both, that this
    engine does not do pre-dumps."""
    with pytest.raises(NotImplementedCtrError, match="soft-dirty"):
        check_options(CheckpointOptions(pre_checkpoint=True), "checkpoint", "/nonexistent/criu")
    monkeypatch.setattr(options.criu, "find_criu", lambda configured: "/x/criu")
    monkeypatch.setattr(options.criu, "kernel_tracks_dirty_memory", lambda criu: True)
    with pytest.raises(NotImplementedCtrError, match="does not implement pre-checkpoints"):
        check_options(CheckpointOptions(pre_checkpoint=True), "checkpoint", "criu")


def test_restore_options_refused_on_checkpoint() -> None:
    with pytest.raises(InvalidArgumentError, match="name is a restore option"):
        check_options(CheckpointOptions(name="x"), "checkpoint", "criu")
    with pytest.raises(InvalidArgumentError, match="tcp_close is a restore option"):
        check_options(CheckpointOptions(tcp_close=True), "checkpoint", "criu")
    check_options(CheckpointOptions(name="x", tcp_close=True), "restore", "criu")


def test_accepted_options() -> None:
    for compression in [*COMPRESSIONS, "GZIP"]:
        check_options(CheckpointOptions(compression=compression), "checkpoint", "criu")
    check_options(CheckpointOptions(ignore_static_ip=True, ignore_static_mac=True,
                                    ignore_volumes=True, keep=True, keep_running=True,
                                    tcp_established=True, file_locks=True, print_stats=True),
                  "checkpoint", "criu")


class FakeOCI:
    path = "/usr/bin/runc"

    def __init__(self, listed: bool) -> None:
        self.listed = listed
        self.asked: list[tuple[str, str]] = []

    def has_option(self, verb: str, option: str) -> bool:
        self.asked.append((verb, option))
        return self.listed


def test_tcp_close_needs_the_runtime_option() -> None:
    oci = FakeOCI(listed=False)
    check_restore_runtime(CheckpointOptions(), oci)  # type: ignore[arg-type]
    assert oci.asked == []  # asked only for tcp_close: it costs a runtime exec
    with pytest.raises(NotImplementedCtrError, match="tcp-close.*/usr/bin/runc has none"):
        check_restore_runtime(CheckpointOptions(tcp_close=True), oci)  # type: ignore[arg-type]
    assert oci.asked == [("restore", "--tcp-close")]
    check_restore_runtime(CheckpointOptions(tcp_close=True), FakeOCI(listed=True))  # type: ignore[arg-type]


def test_stats_report_shape() -> None:
    stats = CheckpointStats(id="a" * 64, name="c", runtime_duration=5, total_duration=9,
                            image_size=100, archive_size=50,
                            criu={"freezing_time": 1, "pages_written": 2})
    assert stats.to_dict() == {
        "Id": "a" * 64, "Name": "c", "RuntimeDuration": 5, "TotalDuration": 9,
        "ImageSize": 100, "ArchiveSize": 50,
        "CRIUStatistics": {"FreezingTime": 1, "PagesWritten": 2},
    }
