"""The local Kubernetes control plane onceonly builds from Go modules: which components, at which versions.

One release is one line in ``RELEASES``: the Kubernetes version it is named for, and each component with its Go
module, tag, ``go`` line (checked before anything is downloaded) and the binaries built from its own main
packages. The replace directives are not copied here: ``toolchain.kube_wrapper`` reads them from each tag's
go.mod as the module proxy serves it.

- ``kubernetes`` (``k8s.io/kubernetes``): kube-apiserver, kube-controller-manager, kube-scheduler, and the node's
  kubelet and kube-proxy (``onceonly k8s up --node``). Its go.mod
  points the ``k8s.io/*`` staging modules at ``./staging``; they are published as ``k8s.io/<name> v0.<minor>.<patch>``
  (``local_version``).
- ``etcd`` (``go.etcd.io/etcd/server/v3``, whose ``main.go`` is etcd itself): its go.mod points its sibling modules
  at ``../api`` and so on, published at the same tag. Debian's etcd 3.4 is too old for k8s.io/apiserver 0.37's
  watch progress requests.
- ``kwok`` (``sigs.k8s.io/kwok``): fake nodes. Only ``cmd/kwok``; ``kwokctl`` downloads from the internet.

Versions as the module proxy served them on 2026-12-01 (``go mod download -json``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Component:
    """One Go module of the control plane and the binaries built from its main packages."""

    name: str  # "kubernetes": the wrapper module's directory and build.json's key
    module: str
    version: str  # the tag without its leading "v"
    go: str  # the tag's go.mod "go" line
    binaries: tuple[tuple[str, str], ...]  # (binary name, main package), in build order
    local_version: str | None  # the published version of the modules its go.mod points at local directories
    stamps: tuple[tuple[str, str], ...] = ()  # -X linker stamps: (Go symbol, value)
    tags: str = ""  # build tags, "" for none

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def ldflags(self) -> str:
        return " ".join(["-s", "-w", *(f"-X {symbol}={value}" for symbol, value in self.stamps)])


@dataclass(frozen=True, slots=True)
class KubeRelease:
    """A control plane onceonly can build: named for its Kubernetes version."""

    version: str
    components: tuple[Component, ...]

    @property
    def go(self) -> str:
        """The oldest Go that builds every component: the newest of their go lines."""
        return max((c.go for c in self.components), key=lambda v: tuple(int(p) for p in v.split(".")))

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(name for c in self.components for name, _ in c.binaries)


def kubernetes_stamps(version: str) -> tuple[tuple[str, str], ...]:
    """The version stamps Kubernetes' release build sets (v1.37.2: hack/lib/version.sh, kube::version::ldflags),
    in both packages it stamps. The commit is not stamped: the module proxy does not say which one the tag is."""
    major, minor, _ = version.split(".")
    values = {"gitVersion": f"v{version}", "gitMajor": major, "gitMinor": minor}
    return tuple(
        (f"{package}.{key}", value)
        for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version")
        for key, value in values.items()
    )


def kubernetes(version: str, go: str) -> Component:
    module = "k8s.io/kubernetes"
    names = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
    return Component(
        name="kubernetes",
        module=module,
        version=version,
        go=go,
        binaries=tuple((name, f"{module}/cmd/{name}") for name in names),
        local_version="v0." + version.split(".", 1)[1],  # 1.37.2 -> the staging modules' v0.37.2
        stamps=kubernetes_stamps(version),
    )


def etcd(version: str, go: str) -> Component:
    module = "go.etcd.io/etcd/server/v3"
    return Component("etcd", module, version, go, (("etcd", module),), local_version=f"v{version}")


def kwok(version: str, go: str) -> Component:
    module = "sigs.k8s.io/kwok"
    return Component("kwok", module, version, go, (("kwok", f"{module}/cmd/kwok"),), local_version=None)


DEFAULT_VERSION = "1.37.2"

RELEASES: dict[str, KubeRelease] = {
    r.version: r
    for r in (
        KubeRelease("1.37.2", (etcd("3.6.16", "1.26.0"), kubernetes("1.37.2", "1.26.0"), kwok("0.8.0", "1.26.0"))),
    )
}


class UnknownKubeVersionError(LookupError):
    """Raised for a Kubernetes version that has no entry in ``RELEASES``."""


def lookup(version: str) -> KubeRelease:
    """The release for ``version`` ("1.37.2" or "v1.37.2").

    Raises:
        UnknownKubeVersionError: not in the table; the message lists what is and how to add one.
    """
    try:
        return RELEASES[version.removeprefix("v")]
    except KeyError:
        raise UnknownKubeVersionError(
            f"unknown Kubernetes version {version!r}: onceonly can build the control plane of "
            f"{', '.join(RELEASES)}. To add one, add a KubeRelease line to toolchain/kube.py."
        ) from None
