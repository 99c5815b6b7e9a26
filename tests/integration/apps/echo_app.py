"""A user's app for the hop's route matrix (tests/integration/test_byo_app.py), standard library only: every
request it gets is written as one JSON line to ``ECHO_LOG`` (method, target, the headers the test sends, body length
and SHA-256), and answered with the status the request asks for (``x-echo-status``), ``x-echo-size`` bytes derived
from the request, and the header ``x-echo: <sha of the request body>``. Run: ``python echo_app.py PORT``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        digest = hashlib.sha256(body).hexdigest()
        seen = {
            "method": self.command,
            "target": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-")},
            "length": len(body),
            "sha256": digest,
        }
        with Path(os.environ["ECHO_LOG"]).open("a") as log:
            log.write(json.dumps(seen) + "\n")
        size = int(self.headers.get("x-echo-size") or 16)
        answer = (digest.encode() * (size // 64 + 1))[:size]
        self.send_response(int(self.headers.get("x-echo-status") or 200))
        self.send_header("content-type", "application/octet-stream")
        self.send_header("content-length", str(len(answer)))
        self.send_header("x-echo", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
