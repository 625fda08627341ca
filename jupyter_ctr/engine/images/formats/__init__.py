"""Image archives in and out: docker-archive and oci-archive files and OCI layout directories,
read without extracting them (``read``) and written from layer writers (``write``).

Only ``load`` and ``save`` import this package (tarfile, hashlib, the decompressors).
"""

from .read import ArchiveImage, LayerOpener, read_archive
from .write import (
    ExportImage,
    LayerWriter,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)

__all__ = ["ArchiveImage", "ExportImage", "LayerOpener", "LayerWriter", "read_archive",
           "write_docker_archive", "write_oci_archive", "write_oci_layout"]
