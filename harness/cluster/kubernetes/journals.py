"""The apps' fallback journals on Kubernetes (issue 16, "the journal gap"): where they are, how they are read, and
how a run's are removed.

Each app pod writes ``/journal/<pod name>.jsonl`` (k8s/base/app.yaml's ``ONCEONLY_JOURNAL``) only when Redis
cannot take a record. By default ``/journal`` is an ``emptyDir``: a pod deleted by a fault takes its journal with it
and the ledger has a gap (None: "could not be read"). With ``--journal-host-dir PATH`` it is the node's directory
``PATH/<namespace>`` (``harness.cluster.kubernetes.manifests``), shared by the run's pods on that node, so a gone
pod's journal is read through any live app pod on the node it ran on (``pods.json``'s ``node``), and at the end
of the run the journals are removed through one live app pod per node, before the namespace is deleted.

Reading answers, per pod the harness listed: the text; "" for a journal that does not exist (the pod never
journaled); None for one that could not be read (the exec failed, the file is unreadable, or the pod is gone and
no live app pod is on its node). The exec's output holds stdout and stderr together, so the script says first what
it found (``journal: read``, ``journal: missing``, ``journal: unreadable``) and anything else is None.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from harness.cluster.kubernetes.api import PodView
from harness.cluster.kubernetes.signals import CONTAINERS
from harness.errors import InputError
from harness.io.pods import PodRow

if TYPE_CHECKING:
    from harness.cluster.kubernetes.cluster import KubeCluster

JOURNAL_DIR = "/journal"  # the app container's mountPath (k8s/base/app.yaml), whatever the volume
HOST_DIR_FLAG = "--journal-host-dir"
READ = "journal: read\n"
MISSING = "journal: missing"
READ_JOURNAL = """
import sys
try:
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
except FileNotFoundError:
    print('journal: missing')
except OSError as exc:
    print('journal: unreadable', exc)
else:
    sys.stdout.write('journal: read\\n' + data.decode('utf-8', 'replace'))
""".strip()
REMOVED = "journals removed:"
REMOVE_JOURNALS = """
import os, shutil, sys
gone = 0
for entry in os.scandir(sys.argv[1]):
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)
    gone += 1
print('journals removed:', gone)
""".strip()


def check_host_dir(path: str) -> str:
    """``path`` as the node's directory for journals: absolute, no ``..``; ``InputError`` naming the flag."""
    posix = PurePosixPath(path)
    if not posix.is_absolute() or ".." in posix.parts:
        raise InputError(
            f"{HOST_DIR_FLAG} {path!r} is not an absolute path on the node(s): give one such as "
            "/var/lib/onceonly/journals (the run's journals go to DIR/<namespace> on each node)"
        )
    return str(posix)


def host_dir_of(path: str, namespace: str) -> str:
    """The run's journal directory on each node: ``PATH/<namespace>``."""
    return str(PurePosixPath(check_host_dir(path)) / namespace)


def journal_path(pod: str) -> str:
    return f"{JOURNAL_DIR}/{pod}.jsonl"


def read_argv(pod: str) -> list[str]:
    """What an app container runs to print pod ``pod``'s journal, framed (``parse``)."""
    return ["python", "-c", READ_JOURNAL, journal_path(pod)]


def parse(output: str) -> str | None:
    """The journal's text from the read exec's output: "" when it does not exist, None when it could not be read
    (or the exec did not run the script)."""
    if output.startswith(READ):
        return output.removeprefix(READ)
    if output.startswith(MISSING):
        return ""
    return None


def reader_of(row: PodRow, present: Iterable[str], live: Iterable[PodView], on_host: bool) -> str | None:
    """The pod to read ``row``'s journal in: itself while it is listed; when it is gone and journals are on the
    host, a live app pod on its node; else None (its journal went with it, or no pod can reach the node's)."""
    if row["name"] in present:
        return row["name"]
    if not on_host or not row["node"]:
        return None
    return on_node(live, row["node"])


def on_node(live: Iterable[PodView], node: str) -> str | None:
    """The first (by name) of the live app pods on ``node``, or None."""
    return next((pod.name for pod in sorted(live, key=lambda p: p.name) if pod.node == node), None)


def texts(c: KubeCluster) -> list[str | None]:
    """Each listed app pod's journal, in ``pods.json``'s order (see the module's docstring)."""
    c.refresh()
    present = {pod.name for pod in c.pods.present().values()}
    live = list(c.pods.live().values())
    found: list[str | None] = []
    for row in c.pods.rows():
        if row["seen_in"] != "api":
            continue
        reader = reader_of(row, present, live, c.placement.journal_host_dir is not None)
        if reader is None:
            found.append(None)
            continue
        try:
            output = c.api.exec(c.placement.namespace, reader, CONTAINERS["app"], read_argv(row["name"]))
        except Exception:
            found.append(None)
            continue
        found.append(parse(output))
    return found


def remove(c: KubeCluster) -> tuple[list[str], list[str]]:
    """Remove the run's journals from every node its app pods ran on, each through one live app pod there: the
    nodes done, and what could not be done, in words. Never raises: the caller says the warnings and goes on
    deleting the namespace. The directory ``PATH/<namespace>`` itself stays, empty: it is the pods' mount point,
    and its parent is not theirs to change (the app runs as the pod's user, not root)."""
    if c.placement.journal_host_dir is None:
        return [], []
    where = host_dir_of(c.placement.journal_host_dir, c.placement.namespace)
    try:
        c.refresh()
        live = list(c.pods.live().values())
        nodes = sorted({row["node"] for row in c.pods.rows() if row["seen_in"] == "api" and row["node"]})
    except Exception as exc:
        return [], [f"journals in {where} not removed: the app's pods could not be listed ({exc})"]
    done, warnings = [], []
    for node in nodes:
        pod = on_node(live, node)
        if pod is None:
            warnings.append(f"journals in {where} on node {node} not removed: no live app pod on that node")
            continue
        argv = ["python", "-c", REMOVE_JOURNALS, JOURNAL_DIR]
        try:
            output = c.api.exec(c.placement.namespace, pod, CONTAINERS["app"], argv)
        except Exception as exc:
            output = str(exc)
        if any(line.startswith(REMOVED) for line in output.splitlines()):
            done.append(node)
        else:
            warnings.append(f"journals in {where} on node {node} not removed (through pod {pod}): {output[-300:]!r}")
    return done, warnings
