"""Free loopback ports for the processes of a run.

Ports are drawn at random from 20000-32767, below Linux's default ephemeral range (32768-60999), so an
outgoing connection's local port cannot take a port between the moment it is picked and the moment the server
binds it. A port is handed out only if it can be bound both on 127.0.0.1 and on all interfaces (the scheduler's
healthz server binds ``:port``, v1.18.3:pkg/healthz/server/server.go), and never twice by one allocator.
"""

from __future__ import annotations

import contextlib
import random
import socket
from dataclasses import dataclass, field

LOW, HIGH = 20000, 32767


def is_free(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class PortAllocator:
    rng: random.Random = field(default_factory=random.Random)
    taken: set[int] = field(default_factory=set)

    def take(self) -> int:
        for _ in range(2000):
            port = self.rng.randint(LOW, HIGH)
            if port not in self.taken and is_free(port):
                self.taken.add(port)
                return port
        raise RuntimeError(f"no free port found in {LOW}-{HIGH} after 2000 tries")
