"""The node's one host interface: the pods' bridge, made before kubelet starts so kubelet can use its address.

kubelet refuses a loopback node IP ("failed to validate nodeIP: nodeIP can't be loopback address") and then
reports no address at all, so the API server cannot reach it for logs or exec ("no preferred addresses found").
The node's address is therefore ``GATEWAY`` on the bridge this node makes: a local address that is not loopback,
reachable from the host and from pods, and on no interface that leaves the machine. kubelet's API listens there;
the bridge CNI plugin finds the bridge made with the gateway address it is configured with and uses it.

Nothing from the pods may leave the machine: with ip_forward on (sysctls.py) and no masquerade, a pod's packet to
an outside address would still be routed out. One FORWARD rule, commented ``COMMENT``, drops whatever comes from
the pod network and leaves by another interface than the bridge; cleanup.py deletes it with kubelet's chains.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.cluster.kubernetes.plane.node.layout import BRIDGE, GATEWAY, POD_CIDR
from harness.errors import EnvironmentProblem

COMMENT = "onceonly-node: pod traffic stays on this machine"


def bridge_exists() -> bool:
    return Path("/sys/class/net", BRIDGE).exists()


def make_bridge() -> None:
    prefix = POD_CIDR.split("/")[1]
    for argv in (
        ["ip", "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "addr", "add", f"{GATEWAY}/{prefix}", "dev", BRIDGE],
        ["ip", "link", "set", BRIDGE, "up"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise EnvironmentProblem(f"making the pods' bridge failed: {' '.join(argv)}: {done.stderr.strip()}")


def keep_pods_inside() -> None:
    rule = ["-s", POD_CIDR, "!", "-o", BRIDGE, "-m", "comment", "--comment", COMMENT, "-j", "DROP"]
    done = subprocess.run(["iptables", "-I", "FORWARD", "1", *rule], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EnvironmentProblem(f"the rule keeping pod traffic on this machine was refused: {done.stderr.strip()}")


def delete_bridge() -> list[str]:
    """The bridge deleted (its veths go with the pods' network namespaces); what was deleted, in words."""
    if not bridge_exists():
        return []
    subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True, check=False)
    return [f"bridge {BRIDGE}"]
