"""The kernel settings a node changes on the host, read before it starts and put back when it is cleaned up.

kubelet sets its kernel tunables when ``protectKernelDefaults`` is false (and refuses to start when it is true and
they differ): vm.overcommit_memory 1, vm.panic_on_oom 0, kernel.panic 10, kernel.panic_on_oops 1,
kernel.keys.root_maxkeys and root_maxbytes. The bridge CNI plugin with ``isGateway`` turns on net.ipv4.ip_forward
(which pod → Service → pod needs while the node runs). None of that may outlive the node.
"""

from __future__ import annotations

from pathlib import Path

PROC_SYS = Path("/proc/sys")
TOUCHED = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
)


def snapshot(base: Path = PROC_SYS) -> tuple[tuple[str, str], ...]:
    """Each setting in ``TOUCHED`` that exists here, with its value now."""
    return tuple((name, (base / name).read_text().strip()) for name in TOUCHED if (base / name).is_file())


def restore(saved: tuple[tuple[str, str], ...], base: Path = PROC_SYS) -> list[str]:
    """Each saved setting written back where it differs; what was put back, in words."""
    changed = []
    for name, value in saved:
        path = base / name
        now = path.read_text().strip() if path.is_file() else None
        if now is not None and now != value:
            path.write_text(value + "\n")
            changed.append(f"sysctl {name.replace('/', '.')} {now} -> {value}")
    return changed
