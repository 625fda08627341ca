"""The CLI's own tests (tests/cli/test_*.py) again with ``--url``: every command through the
client and the service, the same assertions."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from tests.cli import (
    test_attach,
    test_checkpoint,
    test_containers,
    test_images,
    test_images_commit,
    test_labs,
    test_log_opt,
    test_show,
    test_stats,
    test_system,
    test_timeline,
    test_transfer,
)
from tests.cli.conftest import Cli, cli, image_id  # noqa: F401 - the fixtures, here with cli_roots below
from tests.cli.test_transfer import fresh  # noqa: F401 - a fixture of test_transfer's tests

from .cli_remote import RemoteCli, serve

pytestmark = pytest.mark.timeout(180)

#: Tests about this process's engine itself, not the commands' behaviour: ``info`` runs
#: ``criu check`` on the engine's host; remotely it shows the service's info. build-debian
#: builds on the client's host either way; remotely it adds only a 200 MB upload to ``import``
#: (tested on its own), too slow for this module's timeout.
IN_PROCESS_ONLY = {"test_info_reports_criu_check", "test_build_debian_python_image"}


@pytest.fixture(scope="module")
def cli_roots() -> Iterator[Cli]:
    base = Path(tempfile.mkdtemp(prefix="jr", dir="/tmp"))
    rt = Runtime(base / "r", base / "x")
    rt.images.build_demo()
    rt.close()
    server = serve(base / "r", base / "x", f"/tmp/jr-{os.getpid()}.sock")
    next(server)
    yield RemoteCli(base, f"/tmp/jr-{os.getpid()}.sock")
    ids = Cli(base).all_ids()
    if ids:
        Cli(base)("rm", "-f", "-t", "0", *ids)
    next(server, None)
    time.sleep(0.2)
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split()[4] for line in fh if line.split()[4].startswith(str(base))]
    for mnt in reversed(mounts):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)


for _module in (test_containers, test_show, test_attach, test_checkpoint, test_images,
                test_log_opt, test_stats, test_system, test_images_commit, test_transfer,
                test_labs, test_timeline):
    for _name in dir(_module):
        if _name.startswith("test_") and _name not in IN_PROCESS_ONLY:
            globals()[_name] = getattr(_module, _name)
