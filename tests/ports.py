"""Free loopback ports for servers the tests start in subprocesses.

A port the kernel hands out for ``bind(("127.0.0.1", 0))`` comes from its ephemeral range, the
same range every outgoing connection's local port comes from. Between the check and the
server's own ``bind`` (a second or more while Django starts), one of the many loopback
connections of a busy run (PostgreSQL, Redis, the simulator) may take it, and the server exits
with "That port is already in use". Ports below the ephemeral range are never given to a
connection, so a free one picked there stays free unless another test picks the same one.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000
_rng = random.SystemRandom()


def _ephemeral_start() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nobody listens on, outside the kernel's ephemeral range when it can."""
    start = _ephemeral_start()
    if start - _LOWEST >= 1000:
        for _ in range(200):
            port = _rng.randrange(_LOWEST, start)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
