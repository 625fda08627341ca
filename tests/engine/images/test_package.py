"""The package's front: what it re-exports, and that importing it or looking an image up
(what every create does) loads none of the import machinery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupyter_ctr.engine.images as images_pkg
from jupyter_ctr.engine.images import records, references, store

REPO = Path(__file__).resolve().parents[3]


def test_reexports_what_callers_import() -> None:
    assert sorted(images_pkg.__all__) == [
        "ArchiveLimits", "Image", "ImageStore", "host_architecture", "normalize_reference"]
    assert images_pkg.ImageStore is store.ImageStore
    assert images_pkg.Image is records.Image
    assert images_pkg.ArchiveLimits is records.ArchiveLimits
    assert images_pkg.normalize_reference is references.normalize_reference
    assert images_pkg.host_architecture is references.host_architecture


def test_a_lookup_loads_no_archive_oci_or_demo_code(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from jupyter_ctr.engine.images import ImageStore\n"
        "from jupyter_ctr.engine.store import StateStore\n"
        f"state = StateStore(Path({str(tmp_path)!r}) / 'state.db')\n"
        "state.add_image('ab' * 32, ['localhost/x:latest'], {'config': {}, 'created': 0.0})\n"
        f"images = ImageStore(Path({str(tmp_path)!r}) / 'root', state)\n"
        "assert images.get('x').id == 'ab' * 32 and len(images.list()) == 1\n"
        "print(' '.join(sys.modules))\n")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, cwd=REPO).stdout.split())
    assert "jupyter_ctr.engine.images.store" in loaded
    heavy = {"jupyter_ctr.engine.images.archive", "jupyter_ctr.engine.images.oci",
             "jupyter_ctr.engine.images.demo", "tarfile", "hashlib", "tempfile", "shutil",
             "gzip", "bz2", "lzma", "copy", "subprocess"}
    assert heavy & loaded == set()
