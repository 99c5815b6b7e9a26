"""Local ports for a pod's ports: a listener on 127.0.0.1 per (pod, port) that carries each connection over its
own port-forward stream (``KubeApi.open_port``), so httpx and redis-py talk to a normal local port.

One stream per accepted connection (a port-forward stream carries one connection); two threads copy bytes each
way until either side closes. ``Forwards.close`` closes every listener and every connection (the cluster's exit).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

from harness.cluster.kubernetes.api import PortStream

Opener = Callable[[], PortStream]
CHUNK = 65536


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class Forward:
    """127.0.0.1:``port`` carried to one pod's port; ``failures`` counts connections whose stream the API server
    refused to open (``last_error`` the last such refusal), ``opened`` those it opened."""

    def __init__(self, opener: Opener, label: str) -> None:
        self.label = label
        self._opener = opener
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[Callable[[], None]] = []
        self._closed = False
        self.failures = 0
        self.opened = 0
        self.last_error = ""
        threading.Thread(target=self._accept, name=f"forward {label}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                local, _addr = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._carry, args=(local,), name=f"forward {self.label}", daemon=True).start()

    def _carry(self, local: socket.socket) -> None:
        try:
            remote, close_stream = self._opener()
        except Exception as exc:  # the API refused or the pod is gone: the local client sees the connection close
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {str(exc)[:400]}"
            local.close()
            return
        self.opened += 1

        def close() -> None:
            for closer in (local.close, remote.close, close_stream):
                with contextlib.suppress(Exception):
                    closer()

        with self._lock:
            if self._closed:
                close()
                return
            self._open.append(close)
        back = threading.Thread(target=_pump, args=(remote, local), daemon=True)
        back.start()
        _pump(local, remote)
        back.join()
        close()
        with self._lock:
            if close in self._open:
                self._open.remove(close)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            closers, self._open = self._open, []
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept (a close alone does not, on Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for close in closers:
            close()


class Forwards:
    """The run's forwards, made on first use by (pod, port) and closed together."""

    def __init__(self, open_port: Callable[[str, int], PortStream]) -> None:
        self._open_port = open_port
        self._by_target: dict[tuple[str, int], Forward] = {}

    def local_port(self, pod: str, port: int) -> int:
        forward = self.forward(pod, port)
        return forward.port

    def forward(self, pod: str, port: int) -> Forward:
        key = (pod, port)
        if key not in self._by_target:
            self._by_target[key] = Forward(lambda: self._open_port(pod, port), f"{pod}:{port}")
        return self._by_target[key]

    def url(self, pod: str, port: int) -> str:
        return f"http://127.0.0.1:{self.local_port(pod, port)}"

    def drop(self, pod: str) -> None:
        """Close the forwards to a pod that is gone."""
        for key in [k for k in self._by_target if k[0] == pod]:
            self._by_target.pop(key).close()

    def close(self) -> None:
        for forward in self._by_target.values():
            forward.close()
        self._by_target.clear()
