"""Image archives in and out: docker-archive and oci-archive files and OCI layout directories,
read without extracting them (``read``) and written from layer writers (``write``).

Only ``load`` and ``save`` import this package (tarfile, hashlib, the decompressors).
"""

from .read import ArchiveImage, LayerOpener, read_archive

__all__ = ["ArchiveImage", "LayerOpener", "read_archive"]
