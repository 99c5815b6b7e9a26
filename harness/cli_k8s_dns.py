"""``onceonly k8s dns``: the cluster's DNS for the local node, CoreDNS built here (``toolchain.coredns``).

``build`` builds CoreDNS with only the plugins the plane's Corefile uses; ``corefile`` prints the Corefile a
listen address, port and kubeconfig give (``harness.cluster.kubernetes.plane.dns``), nothing started.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cluster.kubernetes.plane import dns
from harness.errors import HarnessError
from toolchain import coredns
from toolchain.gocmd import BuildError
from toolchain.selection import kube_cache_root

k8s_dns_app = typer.Typer(
    help="The cluster's DNS for the local node: CoreDNS built here, cluster.local only, nothing forwarded.",
    no_args_is_help=True,
)

ListenOpt = Annotated[str, typer.Option("--listen", metavar="IPV4", help="The address CoreDNS binds (UDP and TCP).")]
PortOpt = Annotated[int, typer.Option("--port", metavar="PORT", help="Its DNS port.")]
KubeconfigOpt = Annotated[
    Path, typer.Option("--kubeconfig", metavar="FILE", help="The kubeconfig of the API server it reads.")
]
HealthOpt = Annotated[int, typer.Option("--health-port", metavar="PORT", help="/health on 127.0.0.1.")]
ReadyOpt = Annotated[int, typer.Option("--ready-port", metavar="PORT", help="/ready on 127.0.0.1.")]


@k8s_dns_app.command("build")
def build_command() -> None:
    """Build CoreDNS from its Go module (github.com/coredns/coredns) into onceonly's cache; a no-op when built."""
    from harness.cli import display, fail, output

    try:
        output().final(str(coredns.build_with_progress(kube_cache_root(), display())))
    except (HarnessError, BuildError) as exc:
        fail(exc)


@k8s_dns_app.command("corefile")
def corefile_command(
    listen: ListenOpt,
    kubeconfig: KubeconfigOpt,
    port: PortOpt = 53,
    health_port: HealthOpt = 8080,
    ready_port: ReadyOpt = 8181,
) -> None:
    """Print the Corefile CoreDNS runs with (the node listens on the pods' bridge gateway, port 53)."""
    from harness.cli import fail

    try:
        text = dns.corefile(dns.DnsConfig(listen, port, health_port, ready_port, kubeconfig.resolve()))
    except HarnessError as exc:
        fail(exc)
    sys.stdout.write(text)
