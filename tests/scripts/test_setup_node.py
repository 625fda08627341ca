"""scripts/setup.sh's node step on a machine whose node is Debian 12's (too old for the
extension build): it installs Node.js 22 from PyPI and links it as /usr/local/bin/node, and a
second run keeps it. Run for real in a private mount namespace (unshare -m), where
/usr/bin/node is a stand-in that says 18.19.0 and /usr/local/bin and /opt are scratch copies:
the machine's own node, /usr/local/bin and /opt are untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
set -euo pipefail
mount --make-rprivate /
printf '#!/bin/sh\necho 18.19.0\n' > "$SCRATCH/node18" && chmod +x "$SCRATCH/node18"
if [ -e /usr/bin/node ]; then mount --bind "$SCRATCH/node18" /usr/bin/node; fi
mkdir -p "$SCRATCH/u" "$SCRATCH/w" "$SCRATCH/opt" "$SCRATCH/bin"
mount -t overlay overlay \
    -o "lowerdir=/usr/local/bin,upperdir=$SCRATCH/u,workdir=$SCRATCH/w" /usr/local/bin
mount --bind "$SCRATCH/opt" /opt
ln -s "$SCRATCH/node18" "$SCRATCH/bin/node"
export PATH="/usr/local/bin:$SCRATCH/bin:$PATH"
echo "before: $(node -p process.versions.node)"
bash "$REPO/scripts/setup.sh" --skip=apt,criu,python,image
echo "after: $(node -p process.versions.node)"
bash "$REPO/scripts/setup.sh" --skip=apt,criu,python,image
echo "link: $(readlink /usr/local/bin/node)"
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare for a private mount namespace")
def test_node_step_installs_node_22_where_node_is_too_old(tmp_path: Path) -> None:
    outside = [Path("/usr/local/bin/node").exists(), Path("/opt/jupyter-ctr/node").exists()]
    env = {**os.environ, "SCRATCH": str(tmp_path), "REPO": str(REPO)}
    env.pop("SETUP_NODE_HOME", None)
    proc = subprocess.run(["unshare", "-m", "bash", "-c", SCRIPT], env=env, text=True,
                          capture_output=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "before: 18.19.0" in out
    assert "v18.19.0 is too old for the extension build; installing Node.js 22" in out
    after = next(line for line in out.splitlines() if line.startswith("after: "))
    major, minor = (int(x) for x in after.split()[1].split(".")[:2])
    assert major == 22 and minor >= 12, out
    assert out.count("installing Node.js 22") == 1, "the second run must keep it: " + out
    assert "link: /opt/jupyter-ctr/node/" in out
    assert outside == [Path("/usr/local/bin/node").exists(),
                       Path("/opt/jupyter-ctr/node").exists()], "it leaked out of the namespace"
