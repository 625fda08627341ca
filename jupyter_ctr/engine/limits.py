"""The ranges of the numbers a container's configuration and its verbs take: what runc (whose
spec fields are Go int64s) and the kernel (cgroup files) accept, so that a bad value fails
where it is given, with a message naming it, instead of at start with runc's JSON error.

The REST layer checks the same ranges on every query parameter and body field (server/params.py
and server/specgen.py); ``check`` is the one place the message is worded.
"""

from __future__ import annotations

from .errors import InvalidArgumentError

#: runc's spec fields are int64; larger numbers fail its JSON decoding.
INT64_MAX = (1 << 63) - 1
#: memory.limit_in_bytes takes any int64 (the kernel clamps it to its page counter).
MEMORY_MAX = INT64_MAX
#: pids.max refuses more than the kernel's PID_MAX_LIMIT (2^22).
PIDS_MAX = 1 << 22
#: cpu.cfs_period_us: 1 ms to 1 s; cpu.cfs_quota_us: at least 1 ms.
CPU_PERIOD_MIN, CPU_PERIOD_MAX = 1_000, 1_000_000
CPU_QUOTA_MIN = 1_000
#: cpu.shares: the kernel's MAX_SHARES (2^18).
CPU_SHARES_MAX = 1 << 18
#: Seconds to wait (stop timeouts, restart and remove timeouts): at most what fits Go's
#: time.Duration (podman's limit: int64 nanoseconds) and Python's threading.TIMEOUT_MAX.
TIMEOUT_MAX = INT64_MAX // 1_000_000_000
#: A tty's rows and columns (struct winsize: unsigned short).
TTY_SIZE_MAX = 65535
#: Restart policy retries: a C int in podman.
RETRIES_MAX = (1 << 31) - 1
#: The longest path the kernel takes (PATH_MAX less its NUL), for the executable and the
#: working directory. Longer ones fail anyway, and runc's error message would echo them: over
#: a pipe's 64 KiB it blocks ``runc create`` on its stderr while conmon waits for it to exit
#: (the start hangs until conmon's sync timeout).
PATH_LENGTH_MAX = 4095


def check(field: str, value: object, low: int, high: int) -> int:
    """``value`` as an int in [low, high] (not a bool, not a float with a fraction), or
    InvalidArgumentError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"invalid {field} {value!r}: want an integer")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise InvalidArgumentError(f"invalid {field} {value!r}: want an integer")
    if not low <= value <= high:
        raise InvalidArgumentError(f"invalid {field} {value!r}: must be from {low} to {high}")
    return int(value)
