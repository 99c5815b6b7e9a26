"""``onceonly k8s``: Kubernetes on the command line. ``render`` prints the manifests a scenario runs on
(``harness.cluster.kubernetes.render``); ``build`` builds the local control plane to test against from Go modules
(``toolchain.kube_build``); the backend that runs them and ``up`` are next (issue 14, items 2-4).

Secrets: the Dapr API token, the app token and the Redis password are generated per render, or taken from
``ONCEONLY_K8S_DAPR_API_TOKEN``, ``ONCEONLY_K8S_APP_TOKEN``, ``ONCEONLY_K8S_REDIS_PASSWORD`` (never from a flag: a
command line is visible to every user of the machine). They are in the printed Secret manifests and nowhere else.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import typer

from harness import cli_options as opt
from harness.about import onceonly_version
from harness.campaign import kube_up
from harness.cli_k8s_dapr import k8s_dapr_app
from harness.cli_k8s_dns import k8s_dns_app
from harness.cluster.base import Tokens
from harness.cluster.kubernetes.manifests import Overlay
from harness.cluster.kubernetes.plane import binaries as plane_binaries
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
from harness.cluster.kubernetes.plane.node import host
from harness.cluster.kubernetes.plane.node import images as node_images
from harness.cluster.kubernetes.plane.node.layout import BRIDGE, GATEWAY, POD_CIDR
from harness.cluster.kubernetes.plane.node.local_node import LocalNode
from harness.cluster.kubernetes.render import default_namespace, notes, render, to_yaml
from harness.errors import HarnessError, InputError
from toolchain import kube
from toolchain.gocmd import BuildError
from toolchain.images import catalog
from toolchain.images import dapr as dapr_images
from toolchain.selection import build_dapr_plane_with_progress, build_kube_with_progress
from toolchain.versions import DEFAULT_VERSION, UnknownVersionError, lookup

PROJECT = Path(__file__).resolve().parents[1]  # the clone: uv.lock, target_app/, hop/ for the recorder image
TOKEN_ENV = {
    "dapr_api": "ONCEONLY_K8S_DAPR_API_TOKEN",
    "app_api": "ONCEONLY_K8S_APP_TOKEN",
    "redis": "ONCEONLY_K8S_REDIS_PASSWORD",
}

k8s_app = typer.Typer(
    help="Kubernetes: the manifests a scenario runs on, the local control plane built (a backend is in progress).",
    no_args_is_help=True,
)
k8s_app.add_typer(k8s_dapr_app, name="dapr")
k8s_app.add_typer(k8s_dns_app, name="dns")


def image_default() -> str:
    return f"onceonly-target-app:{onceonly_version()}"


def tokens_from_env() -> Tokens:
    """Each secret from its variable when set and not empty, else generated (``Tokens``'s default)."""
    given = {field: os.environ[var] for field, var in TOKEN_ENV.items() if os.environ.get(var)}
    return Tokens(**given)


@k8s_app.command("render")
def render_command(
    scenario: opt.ScenarioArg,
    set_: opt.SetOpt = None,
    image: opt.ImageOpt = None,
    namespace: opt.NamespaceOpt = None,
) -> None:
    """Print the Kubernetes manifests that run SCENARIO, for `kubectl apply -f -` or GitOps; nothing is applied.

    The output holds Secrets (Dapr API token, app token, Redis password): treat it as a secret.

    The secrets are generated per render unless ONCEONLY_K8S_DAPR_API_TOKEN, ONCEONLY_K8S_APP_TOKEN or
    ONCEONLY_K8S_REDIS_PASSWORD give them. What a Kubernetes run would refuse (network faults) is said on stderr.
    """
    from harness.cli import console, fail, load

    sc = load(scenario, set_)  # bad input: exit 3, nothing printed on stdout
    ns = namespace or default_namespace(sc)
    overlay = Overlay(namespace=ns, image=image or image_default(), run_id=ns, tokens=tokens_from_env())
    try:
        text = to_yaml(render(sc, overlay))
    except HarnessError as exc:
        fail(exc)
    for note in notes(sc):
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    sys.stdout.write(text)


@k8s_app.command("build")
def build_command(version: opt.KubeVersionOpt = kube.DEFAULT_VERSION, dapr: opt.KubeDaprOpt = DEFAULT_VERSION) -> None:
    """Build the local control plane from Go modules: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
    and kwok, and Dapr's sentry and sidecar injector (each a no-op when built). Nothing is started."""
    from harness.cli import fail

    try:
        build_plane(version, dapr)
    except (HarnessError, BuildError) as exc:
        fail(exc)


def build_plane(version: str, dapr: str) -> tuple[str, str]:
    """Build what the plane of these versions lacks; the versions as built. Unknown versions: ``InputError``."""
    from harness.cli import display

    release, entry = plane_binaries.releases(version, dapr)
    build_kube_with_progress(release, display())
    build_dapr_plane_with_progress(entry, display())
    return release.version, entry.version


@k8s_app.command("up")
def up_command(
    version: opt.KubeVersionOpt = kube.DEFAULT_VERSION,
    dapr: opt.KubeDaprOpt = DEFAULT_VERSION,
    nodes: opt.NodesOpt = 3,
    directory: opt.PlaneDirOpt = None,
    node: opt.NodeOpt = False,
    host_dapr: opt.HostDaprOpt = True,
    with_images: opt.UpImagesOpt = False,
    images_also: opt.UpImagesAlsoOpt = None,
) -> None:
    """Start a local Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler, kwok with N fake nodes) with Dapr's sentry and sidecar injector, and keep it up until Ctrl-C.

    Builds what is missing first (minutes cold). Prints the `export KUBECONFIG=...` line. kwok's pods run no
    container: the plane shows what Kubernetes and Dapr's injector do with the manifests, not deliveries. With
    --node, one real node (containerd, kubelet, kube-proxy) runs real pods; `onceonly k8s down --dir DIR` removes
    what it left after a SIGKILL (the next `up --node` does too), and CoreDNS on its bridge serves cluster.local.
    --no-host-dapr leaves Dapr to its chart (`onceonly k8s dapr install`); --images imports what `k8s images` built
    (--images-also VERSION: and that version's, for a chart upgrade).
    """
    from harness.cli import fail, output

    directory = directory or Path("reports") / "k8s-up" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        fail(InputError(f"{directory} is not empty: give --dir a new or empty directory (a plane's files are its own)"))
    if with_images and not node:
        fail(InputError("--images imports into the real node's containerd: give --node too"))
    if images_also is not None and not with_images:
        fail(InputError("--images-also adds another version's images to --images: give --images (and --node) too"))
    try:
        also_version = lookup(images_also).version if images_also is not None else None
    except UnknownVersionError as exc:
        fail(InputError(f"--images-also: {exc}"))
    try:
        if node:
            host.preflight()
        bins = plane_binaries.cached(*build_plane(version, dapr))
        node_bins = plane_binaries.node(bins) if node else None
        if node_bins is not None and with_images:
            versions = [bins.dapr_version] + ([also_version] if also_version is not None else [])
            listed = node_images.listed_all(*(catalog.index_path(v, None) for v in versions))
            node_bins = dataclasses.replace(node_bins, archives=listed)
    except (HarnessError, BuildError) as exc:
        fail(exc)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        left = kube_up.hold(directory, bins, nodes, PlaneTerminal(), node_bins, host_dapr=host_dapr)
    except HarnessError as exc:
        fail(exc)
    output().final("stopped; no process of the plane is left" if not left else f"[red]still running: {left}")


@k8s_app.command("images")
def images_command(dapr: opt.ImagesDaprOpt = DEFAULT_VERSION, out: opt.ImagesOutOpt = None) -> None:
    """Build every image the Kubernetes tier needs as OCI archives, with no registry: Dapr's daprd, scheduler,
    sentry, injector, operator and placement (from its static binaries, built first when missing), Redis and the
    recorder app (from a Debian rootfs made by mmdebstrap). Each is reused while what it is made of is unchanged.

    Prints each image's name, digest, size and archive, the Dapr chart values that use them, and how to import
    them into containerd. A cold build needs root (mmdebstrap), Go and Debian's mirror.
    """
    from harness.cli import display, fail

    if out is not None and out.exists() and not out.is_dir():
        fail(InputError(f"--out {out} is a file: give a directory (made if missing) for the archives and images.json"))
    try:
        entry = lookup(dapr)
        listed = catalog.build_all(entry, PROJECT, onceonly_version(), display(), out)
    except (HarnessError, BuildError, UnknownVersionError) as exc:
        fail(exc)
    show_images(listed, entry.version, catalog.index_path(entry.version, out))


def show_images(listed: list[catalog.Listed], version: str, index: Path) -> None:
    """Each image (name, digest, size, how long it took, its archive), the chart values, the import lines; one line
    each, never wrapped (they are copied into commands); all but the last line left out by -q."""
    from harness.cli import output

    out = output()
    lines: list[str] = []
    for item in listed:
        built = item.built
        how = f"built in {built.seconds:.1f} s" if built.built_now else f"cached (built in {built.seconds:.1f} s)"
        lines += [f"{built.image.name}  {built.image.manifest.digest}  {built.archive_size / 1e6:.1f} MB  {how}"]
        lines += [f"    {item.archive}"]
    values = " ".join(f"--set {key}={value}" for key, value in dapr_images.chart_values(version).items())
    lines += [
        f"Dapr's chart (charts/dapr): {values}",
        "Import each into the node's containerd (SOCKET: its --address):",
    ]
    lines += [f"    {catalog.import_command(item.archive)}" for item in listed]
    if not out.quiet:
        for line in lines:
            out.human.print(line, highlight=False, markup=False, soft_wrap=True)
    out.final(f"{len(listed)} images ready; their list: {index}")


@k8s_app.command("down")
def down_command(directory: opt.DownDirOpt) -> None:
    """Remove what a real node (`k8s up --node --dir DIR`) left on this machine after its harness was killed:
    runc shims and containers, mounts, its cgroups, the pods' bridge, iptables chains, kernel settings."""
    from harness.cli import fail, output

    try:
        found = kube_up.down(directory)
    except HarnessError as exc:
        fail(exc)
    for line in found:
        output().info(f"  removed {line}")
    output().final(f"{len(found)} leftovers removed" if found else "nothing was left")


class PlaneTerminal:
    """How `k8s up` shows its plane: progress on stderr (the build display's), what runs where on stdout."""

    def say(self, message: str) -> None:
        from harness.cli import display

        display().say(message)

    def running(self, label: str) -> AbstractContextManager[Callable[[str], None]]:
        from harness.cli import display

        return display().running(label)

    def plane_ready(self, plane: LocalControlPlane, node: LocalNode | None) -> None:
        from harness.cli import output

        out = output()
        ports = plane.ports
        versions = f"Kubernetes {plane.binaries.kube_version}, Dapr {plane.dapr_version}"
        out.info(f"control plane ready in {plane.ready_seconds or 0:.1f} s: {versions}")
        out.info(f"  kube-apiserver          {plane.api_server}")
        out.info(f"  etcd                    http://127.0.0.1:{ports.etcd_client}")
        out.info(f"  controller-manager      https://127.0.0.1:{ports.controller_manager}/healthz")
        out.info(f"  scheduler               https://127.0.0.1:{ports.scheduler}/healthz")
        out.info(f"  kwok                    nodes {', '.join(plane.node_names)}")
        if plane.host_dapr:
            out.info(f"  sentry                  127.0.0.1:{ports.sentry} (namespace {plane.dapr_namespace})")
            out.info(f"  sidecar injector        :{ports.injector}/mutate (webhook dapr-sidecar-injector)")
        else:
            out.info("  Dapr                    CRDs only: `onceonly k8s dapr install` installs it from its chart")
        if node is not None:
            kubelet = f"kubelet {GATEWAY}:{node.ports.kubelet}"
            extra = f" and {len(node.binaries.archives)} from `k8s images`" if node.binaries.archives else ""
            images = f"{node.pause.reference}, {node.busybox.reference}{extra}"
            out.info(f"  node {node.name}    ready in {node.ready_seconds or 0:.1f} s: {kubelet}")
            out.info(f"  containerd              {node.layout.socket} (namespace k8s.io)")
            out.info(f"  pods                    bridge {BRIDGE} {POD_CIDR}; images {images}")
        out.info(f"  files and logs          {plane.layout.dir} (plane.json, logs/)")
        out.final(f"export KUBECONFIG={plane.kubeconfig}")
        out.info("Ctrl-C stops it.")
