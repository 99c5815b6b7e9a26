"""The node's configuration files, as text: containerd's config.toml, the CNI bridge conflist, kubelet's
KubeletConfiguration and kube-proxy's KubeProxyConfiguration. Written from each project's documented fields.

- containerd 1.6 (config version 2): its own root, state and socket; the CRI plugin with ``sandbox_image`` the
  local pause tag (nothing is pulled), runc through the shim v2 with cgroupfs (``SystemdCgroup = false``), CNI
  from Debian's /usr/lib/cni with our conf dir; the streaming server on 127.0.0.1, a free port.
- CNI: the bridge plugin with host-local IPAM on ``POD_CIDR``, ``isGateway`` (pods reach the host at ``GATEWAY``),
  ``ipMasq: false`` (nothing is NATed to the outside), host-local's leases under the node dir. A pod's only routes
  are its own subnet and the Service CIDR through the gateway (kube-proxy's rules): no default route, so a pod
  cannot even try an outside address ("Network is unreachable").
- kubelet: client-certificate kubeconfig, x509 authentication of callers by the plane's CA (the API server's
  kubelet client), ``AlwaysAllow`` for them (only the API server holds such a certificate), cgroupfs,
  ``failCgroupV1: false``, ``cgroupRoot`` inside the harness's cgroup, its API on the bridge's gateway address
  (network.py) and /healthz on 127.0.0.1, no read-only
  port, no static pods, eviction thresholds this machine never trips, no image GC, ``resolvConf: ""`` (none of the
  host's resolvers or search domains reach a pod); with a cluster DNS, ``clusterDNS`` its address and
  ``clusterDomain`` cluster.local, else pods get no resolver.
- kube-proxy: iptables mode, ``POD_CIDR`` as the cluster CIDR, its listeners on 127.0.0.1, no conntrack sysctls
  written, no localhost node ports (that would set route_localnet).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.cluster.kubernetes.plane.commands import SERVICE_CIDR
from harness.cluster.kubernetes.plane.dns import ZONE
from harness.cluster.kubernetes.plane.node.layout import BRIDGE, GATEWAY, POD_CIDR, NodeLayout, NodePorts

CNI_BIN = Path("/usr/lib/cni")
NETWORK = "onceonly-pods"


def containerd_toml(layout: NodeLayout, sandbox_image: str) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"
disabled_plugins = ["io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{layout.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{layout.containerd / "opt"}"

[{cri}]
  sandbox_image = "{sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{layout.cni_conf_dir}"
  max_conf_num = 1
"""


def cni_conflist(layout: NodeLayout) -> str:
    doc = {
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.cni_ipam_dir),
                    "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY}]],
                    "routes": [{"dst": SERVICE_CIDR}],  # Services through the host; no default route
                },
            },
        ],
    }
    return json.dumps(doc, indent=1) + "\n"


def kubelet_yaml(
    layout: NodeLayout, ports: NodePorts, ca_cert: Path, cgroup_root: str, cluster_dns: str | None = None
) -> str:
    off = "1%"
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "containerRuntimeEndpoint": f"unix://{layout.socket}",
        "address": GATEWAY,  # the node's address (network.py); the API server dials it for logs and exec
        "port": ports.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": ports.kubelet_healthz,
        "tlsCertFile": str(layout.kubelet_cert),
        "tlsPrivateKeyFile": str(layout.kubelet_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": off, "imagefs.available": off},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "failSwapOn": False,
        "resolvConf": "",
        "serializeImagePulls": False,
        "registerNode": True,
        "localStorageCapacityIsolation": False,
        "protectKernelDefaults": False,
        "shutdownGracePeriod": "0s",
    }
    if cluster_dns is not None:
        doc |= {"clusterDNS": [cluster_dns], "clusterDomain": ZONE}
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_yaml(kubeconfig: Path, ports: NodePorts, node_name: str) -> str:
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": node_name,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{ports.proxy_healthz}",
        "metricsBindAddress": f"127.0.0.1:{ports.proxy_metrics}",
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        "nodePortAddresses": ["primary"],
    }
    return yaml.safe_dump(doc, sort_keys=False)
