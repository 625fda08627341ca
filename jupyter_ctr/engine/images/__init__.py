"""Local images as read-only root filesystems, like ``podman import`` and ``load``.

An image is a directory ``<root>/images/<id>/rootfs`` (the overlayfs lower layer of every
container made from it) plus a row in the StateStore with its config and names. Sources:

* a rootfs tarball (plain, gzip, bzip2 or xz), extracted here with :mod:`tarfile`;
* an OCI image layout directory (``oci-layout`` + ``index.json``), unpacked by ``umoci``;
* an OCI archive: a tarball holding such a layout at its top level.

The modules: ``references`` (names), ``records`` (Image, ArchiveLimits), ``store``
(ImageStore), ``archive`` (safe extraction of untrusted archives, also for checkpoints),
``oci`` (OCI layouts) and ``demo`` (the busybox demo image). Importing the package loads
only what a lookup needs; the others come with the first import or demo build.
"""

from .records import ArchiveLimits, Image
from .references import host_architecture, normalize_reference
from .store import ImageStore

__all__ = ["ArchiveLimits", "Image", "ImageStore", "host_architecture", "normalize_reference"]
