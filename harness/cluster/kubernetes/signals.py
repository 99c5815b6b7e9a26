"""The exec that signals a replica's app or daprd inside its pod: the pod shares one process namespace
(``shareProcessNamespace: true`` in k8s/base/app.yaml) and both run as uid 65532, so a process in the app
container can signal daprd. The app image is Python, so the signal is sent by a short ``python -c`` over /proc (no
pkill in the image); it prints the pids it signalled, and nothing matched is an error.

A process is matched by its command line: daprd by its argv[0]'s base name (``/daprd``), the app by the uvicorn
factory it runs (``target_app.app:create_app_from_env``, k8s/base/app.yaml's command).
"""

from __future__ import annotations

import signal

from harness.cluster.base import PARTS, Part
from harness.errors import ClusterError, InputError

APP_MARK = "target_app.app:create_app_from_env"
DAPRD_MARK = "daprd"
CONTAINERS = {"app": "app", "daprd": "daprd"}  # part -> its container (the injector names its sidecar daprd)
KILLED = "signalled:"

SCRIPT = """
import os, sys
sig, marks, hit = int(sys.argv[1]), sys.argv[2:], []
for pid in filter(str.isdigit, os.listdir('/proc')):
    if int(pid) == os.getpid():
        continue
    try:
        with open('/proc/' + pid + '/cmdline', 'rb') as f:
            words = [w.decode(errors='replace') for w in f.read().split(b'\\0') if w]
    except OSError:
        continue
    if words and any(os.path.basename(words[0]) == m or m in words[1:] for m in marks):
        os.kill(int(pid), sig)
        hit.append(pid)
print('signalled:', ' '.join(hit))
""".strip()


def marks(part: Part) -> list[str]:
    if part not in PARTS:
        raise InputError(f"unknown replica part {part!r}; valid: {', '.join(PARTS)}")
    return {"app": [APP_MARK], "daprd": [DAPRD_MARK]}.get(part, [APP_MARK, DAPRD_MARK])


def kill_argv(part: Part, sig: signal.Signals) -> list[str]:
    """What the app container runs to send ``sig`` to ``part``'s process(es)."""
    return ["python", "-c", SCRIPT, str(int(sig)), *marks(part)]


def signalled(output: str, pod: str, part: Part) -> list[int]:
    """The pids the exec says it signalled; ``ClusterError`` when it signalled none or did not run."""
    line = next((x for x in output.splitlines() if x.startswith(KILLED)), None)
    if line is None:
        raise ClusterError(f"signalling {part} in pod {pod}: the exec did not run as expected: {output[-300:]!r}")
    pids = [int(p) for p in line.removeprefix(KILLED).split()]
    if not pids:
        raise ClusterError(f"signalling {part} in pod {pod}: no such process in the pod (already gone?)")
    return pids
