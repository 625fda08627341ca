"""scripts/setup.sh's apt step: every tool the tests run is installed, and Debian's
docker-registry service, which its package enables on install, is left disabled and stopped
(the tests start their own registries on free ports)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(os.geteuid() != 0, reason="the apt step installs as root")
def test_apt_step_has_the_image_tools_and_no_registry_service() -> None:
    proc = subprocess.run(["bash", str(REPO / "scripts/setup.sh"),
                           "--skip=node,criu,python,image"],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    for tool in ("skopeo", "umoci", "docker-registry", "htpasswd", "mmdebstrap"):
        assert shutil.which(tool), f"{tool} is missing after scripts/setup.sh"
    assert not Path("/etc/systemd/system/multi-user.target.wants/docker-registry.service"
                    ).exists()
    assert glob.glob("/etc/rc[2-5].d/S*docker-registry") == []
    running = subprocess.run(["pgrep", "-f", "^/usr/bin/docker-registry serve /etc/"],
                             capture_output=True, check=False)
    assert running.returncode == 1, "Debian's docker-registry service is running"
