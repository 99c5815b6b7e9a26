"""``onceonly k8s dapr``: Dapr from its own Helm chart, with helm built here (``toolchain.helm``).

``build`` builds helm; ``render`` prints the chart's manifests (stdout; notes and progress on stderr); ``install``
and ``upgrade`` run ``helm upgrade --install`` on a cluster (``upgrade`` refuses a namespace with no release);
``uninstall`` removes the release. Each renders first and refuses an image not built here (exit 3, nothing sent);
helm failing on the cluster is exit 4 with helm's words (``harness.cluster.kubernetes.dapr_release``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from harness import cli_options as opt
from harness.cluster.kubernetes import dapr_chart, dapr_release
from harness.cluster.kubernetes.client import connect
from harness.cluster.kubernetes.dapr_chart import ChartValues, Storage
from harness.cluster.kubernetes.helm import Helm
from harness.errors import ClusterError, HarnessError, InputError
from toolchain import helm as helm_build
from toolchain import versions
from toolchain.gocmd import BuildError
from toolchain.selection import kube_cache_root

k8s_dapr_app = typer.Typer(
    help="Dapr from its own Helm chart (images onceonly.local/dapr/NAME:VERSION), with helm built here.",
    no_args_is_help=True,
)


@k8s_dapr_app.command("build")
def build_command() -> None:
    """Build helm from its Go module (helm.sh/helm/v3) into onceonly's cache; a no-op when built."""
    from harness.cli import fail, output

    try:
        output().final(str(ensure_helm()))
    except (HarnessError, BuildError) as exc:
        fail(exc)


@k8s_dapr_app.command("render")
def render_command(
    dapr: opt.ChartDaprOpt = versions.DEFAULT_VERSION,
    namespace: opt.ChartNamespaceOpt = dapr_chart.NAMESPACE,
    set_: opt.ChartSetOpt = None,
    storage: opt.ChartStorageOpt = "memory",
    registry: opt.ChartRegistryOpt = dapr_chart.REGISTRY,
) -> None:
    """Print Dapr's control plane as its chart renders it (helm template, CRDs included); nothing is applied."""
    from harness.cli import fail

    try:
        values = chart_values(dapr, set_, storage, registry)
        text = dapr_release.render(Helm(ensure_helm()), values, namespace)
    except (HarnessError, BuildError) as exc:
        fail(exc)
    sys.stdout.write(text)


@k8s_dapr_app.command("install")
def install_command(
    dapr: opt.ChartDaprOpt = versions.DEFAULT_VERSION,
    namespace: opt.ChartNamespaceOpt = dapr_chart.NAMESPACE,
    set_: opt.ChartSetOpt = None,
    storage: opt.ChartStorageOpt = "memory",
    registry: opt.ChartRegistryOpt = dapr_chart.REGISTRY,
    kubeconfig: opt.ChartKubeconfigOpt = None,
    volumes_dir: opt.ChartVolumesOpt = None,
    wait: opt.ChartWaitOpt = False,
    timeout: opt.ChartTimeoutOpt = "5m0s",
) -> None:
    """Install Dapr from its chart (helm upgrade --install: the next revision when a release is there)."""
    apply(dapr, namespace, set_, storage, registry, kubeconfig, volumes_dir, wait, timeout, upgrade=False)


@k8s_dapr_app.command("upgrade")
def upgrade_command(
    dapr: opt.ChartDaprOpt = versions.DEFAULT_VERSION,
    namespace: opt.ChartNamespaceOpt = dapr_chart.NAMESPACE,
    set_: opt.ChartSetOpt = None,
    storage: opt.ChartStorageOpt = "memory",
    registry: opt.ChartRegistryOpt = dapr_chart.REGISTRY,
    kubeconfig: opt.ChartKubeconfigOpt = None,
    wait: opt.ChartWaitOpt = False,
    timeout: opt.ChartTimeoutOpt = "5m0s",
) -> None:
    """Upgrade the Dapr release in NAMESPACE to another version's chart; its Deployments and StatefulSets roll."""
    apply(dapr, namespace, set_, storage, registry, kubeconfig, None, wait, timeout, upgrade=True)


@k8s_dapr_app.command("uninstall")
def uninstall_command(
    namespace: opt.ChartNamespaceOpt = dapr_chart.NAMESPACE, kubeconfig: opt.ChartKubeconfigOpt = None
) -> None:
    """Remove the Dapr release in NAMESPACE (helm uninstall --wait; Dapr's CRDs stay, as helm leaves them)."""
    from harness.cli import display, fail, output

    try:
        dapr_release.uninstall(Helm(ensure_helm(), checked(kubeconfig)), namespace, display().say)
    except (HarnessError, BuildError) as exc:
        fail(exc)
    output().final(f"Dapr's release in {namespace} uninstalled")


def apply(
    dapr: str,
    namespace: str,
    set_: list[str] | None,
    storage: str,
    registry: str,
    kubeconfig: str | None,
    volumes_dir: Path | None,
    wait: bool,
    timeout: str,
    *,
    upgrade: bool,
) -> None:
    from harness.cli import display, fail, output

    try:
        values = chart_values(dapr, set_, storage, registry, kubeconfig, volumes_dir)
        helm = Helm(ensure_helm(), kubeconfig, timeout)
        if upgrade:
            previous = current_revision(helm, namespace)
            display().say(f"upgrading Dapr's release in {namespace} from revision {previous}")
        if volumes_dir is not None:  # after the render's checks, so that refused input leaves nothing behind
            dapr_release.render(helm, values, namespace)
            make_volumes(values, namespace, volumes_dir, kubeconfig)
        dapr_release.install_or_upgrade(helm, values, namespace, display().say, wait=wait)
        last = dapr_release.history(helm, namespace)[-1]
    except (HarnessError, BuildError) as exc:
        fail(exc)
    output().final(f"Dapr {values.version} in {namespace}: revision {last.number} {last.status} ({last.description})")


def chart_values(
    dapr: str,
    set_: list[str] | None,
    storage: str,
    registry: str,
    kubeconfig: str | None = None,
    volumes_dir: Path | None = None,
) -> ChartValues:
    """The values from the options; an unknown version or storage, a kubeconfig that is not a file, or volumes for
    in-memory storage is bad input naming what is wrong."""
    try:
        version = versions.lookup(dapr).version
    except versions.UnknownVersionError as exc:
        raise InputError(str(exc)) from None
    if storage not in ("memory", "volume"):
        raise InputError(f"--scheduler-storage {storage!r}: give memory or volume")
    chosen: Storage = "memory" if storage == "memory" else "volume"
    checked(kubeconfig)
    if volumes_dir is not None and chosen != "volume":
        raise InputError("--volumes-dir is for --scheduler-storage volume: in-memory storage claims no volume")
    return ChartValues(version, registry=registry, storage=chosen, extra=dapr_chart.parse_sets(set_ or []))


def checked(kubeconfig: str | None) -> str | None:
    """``--kubeconfig`` as given, or ``InputError`` when it is not a file (helm would call that unreachable)."""
    if kubeconfig is not None and not Path(kubeconfig).is_file():
        raise InputError(f"--kubeconfig {kubeconfig}: no such file; give the kubeconfig of the cluster")
    return kubeconfig


def current_revision(helm: Helm, namespace: str) -> int:
    """The release's revision now; ``InputError`` when the namespace has none (install it first)."""
    try:
        return dapr_release.history(helm, namespace)[-1].number
    except ClusterError as exc:
        if "not found" not in str(exc):
            raise
        raise InputError(
            f"no Dapr release in {namespace} to upgrade: install one (`onceonly k8s dapr install`)"
        ) from None


def make_volumes(values: ChartValues, namespace: str, directory: Path, kubeconfig: str | None) -> None:
    """The scheduler's PersistentVolumes under ``directory``, server-side applied (a no-op when there). Each
    volume's directory is made here first, owned by Dapr's user: the kubelet makes a missing hostPath directory
    root-owned 0755, fsGroup does not apply to hostPath, and the scheduler (65532) then cannot write its data
    ("failed to create data dir: ... permission denied", seen with 1.16.0 on the local node). The directory is on
    this machine: --volumes-dir is for the local node."""
    for path in dapr_chart.scheduler_volume_paths(namespace, str(directory.absolute())):
        Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, dapr_chart.DAPR_UID, dapr_chart.DAPR_UID)
    api = connect(kubeconfig=kubeconfig)
    for volume in dapr_chart.scheduler_volumes(namespace, str(directory.absolute()), values.storage_size):
        api.apply(volume)


def ensure_helm() -> Path:
    """helm from the cache, built first when it is not there (minutes cold)."""
    from harness.cli import display

    return helm_build.build_with_progress(kube_cache_root(), display())
