"""What a local control plane runs, found in onceonly's build cache: the control plane's binaries
(``onceonly k8s build``), Dapr's sentry and injector (built beside them), Dapr's CRDs (the dapr module's chart)."""

from __future__ import annotations

from harness.cluster.kubernetes.plane import dns
from harness.cluster.kubernetes.plane.control_plane import PlaneBinaries
from harness.cluster.kubernetes.plane.node.local_node import NodeBinaries
from harness.errors import EnvironmentProblem, InputError
from toolchain import dapr_plane, kube, kube_build, module_files
from toolchain import versions as dapr_versions
from toolchain.build import version_dir
from toolchain.gocmd import BuildError
from toolchain.selection import kube_cache_root


def build_command(kube_version: str, dapr_version: str) -> str:
    return f"onceonly k8s build --version {kube_version} --dapr {dapr_version}"


def missing(kube_version: str, dapr_version: str) -> list[str]:
    """What is not built yet, in words ("the Kubernetes 1.37.2 control plane", "Dapr 1.18.2's sentry and injector")."""
    root = kube_cache_root()
    gaps = []
    if not kube_build.is_complete(root, kube.lookup(kube_version)):
        gaps.append(f"the Kubernetes {kube_version} control plane")
    if not dapr_plane.built(root, dapr_version):
        gaps.append(f"Dapr {dapr_version}'s sentry and injector")
    return gaps


def releases(kube_version: str, dapr_version: str) -> tuple[kube.KubeRelease, dapr_versions.DaprVersion]:
    """The two versions looked up; an unknown one is bad input (exit 3) naming the versions that are known."""
    try:
        return kube.lookup(kube_version), dapr_versions.lookup(dapr_version)
    except (kube.UnknownKubeVersionError, dapr_versions.UnknownVersionError) as exc:
        raise InputError(str(exc)) from None


def cached(kube_version: str, dapr_version: str) -> PlaneBinaries:
    """The binaries of a built plane; ``EnvironmentProblem`` naming the command that builds what is missing."""
    release, entry = releases(kube_version, dapr_version)
    gaps = missing(release.version, entry.version)
    if gaps:
        command = build_command(release.version, entry.version)
        raise EnvironmentProblem(f"{' and '.join(gaps)} not built in {kube_cache_root()}: run `{command}`")
    try:
        crds = module_files.dapr_crd_dir(entry.tag)
        stages = tuple(module_files.kwok_stage_files(release))
    except BuildError as exc:
        raise EnvironmentProblem(f"Dapr's CRDs or kwok's stages could not be read: {exc}") from exc
    return PlaneBinaries(
        kube_bin=version_dir(kube_cache_root(), release.version) / "bin",
        dapr_bin=dapr_plane.bin_dir(kube_cache_root(), entry.version),
        dapr_crds=crds,
        kwok_stages=stages,
        kube_version=release.version,
        dapr_version=entry.version,
    )


def node(plane: PlaneBinaries) -> NodeBinaries:
    """What a real node runs beside ``plane``: kubelet and kube-proxy (built with it), pause.c from its module,
    CoreDNS (``onceonly k8s dns build``) for the cluster DNS."""
    try:
        source = module_files.pause_source(kube.lookup(plane.kube_version))
    except BuildError as exc:
        raise EnvironmentProblem(f"the pause image's source could not be read: {exc}") from exc
    return NodeBinaries(
        kube_bin=plane.kube_bin, pause_source=source, kube_version=plane.kube_version, coredns=dns.cached_binary()
    )
