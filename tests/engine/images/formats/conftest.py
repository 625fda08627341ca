"""The podman fixtures (podman_tools) for the format tests."""

from ..podman_tools import fresh_podman, saved

__all__ = ["fresh_podman", "saved"]
