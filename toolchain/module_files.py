"""Files the local control plane reads from Go modules' sources (Go's module cache; the module proxy when not
cached), never copied into this repository: Dapr's Helm chart and its CRDs from the dapr module, and kwok's stages
(how fake nodes and pods move through their lives) from the kwok module's kustomize tree.

kwok 0.8 refuses to start without stages ("no stages found"); the set used is the one its own ``kustomize/stage/fast``
names, the one ``kwokctl`` gives a cluster: nodes initialised and heartbeating with a lease, pods made Ready at once,
completed, and deleted when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from toolchain import wrapper
from toolchain.gocmd import BuildError, download, go_env
from toolchain.kube import KubeRelease

KWOK_STAGES = "kustomize/stage/fast"


def _source(module: str, tag: str, go: str, environ: Mapping[str, str] | None) -> Path:
    def refused(text: str) -> BuildError:
        return BuildError(f"go mod download {module}@{tag} failed:\n{text[-600:]}")

    return download(go, module, tag, go_env(environ), refused).directory


def dapr_chart_dir(tag: str, *, go: str = "go", environ: Mapping[str, str] | None = None) -> Path:
    """``charts/dapr`` of the dapr module at ``tag`` ("v1.18.2"): Dapr's Helm chart as that release has it."""
    chart = _source(wrapper.MODULE, tag, go, environ) / "charts" / "dapr"
    if not (chart / "Chart.yaml").is_file():
        raise BuildError(f"the dapr module at {tag} has no Helm chart in charts/dapr ({chart})")
    return chart


def dapr_crd_dir(tag: str, *, go: str = "go", environ: Mapping[str, str] | None = None) -> Path:
    """``charts/dapr/crds`` of the dapr module at ``tag`` ("v1.18.2")."""
    crds = _source(wrapper.MODULE, tag, go, environ) / "charts" / "dapr" / "crds"
    if not crds.is_dir():
        raise BuildError(f"the dapr module at {tag} has no charts/dapr/crds ({crds})")
    return crds


def kwok_stage_files(release: KubeRelease, *, go: str = "go", environ: Mapping[str, str] | None = None) -> list[Path]:
    """The stage files of kwok's ``kustomize/stage/fast``, following each kustomization's ``resources``."""
    (kwok,) = [c for c in release.components if c.name == "kwok"]
    root = _source(kwok.module, kwok.tag, go, environ)
    return _resources(root / KWOK_STAGES)


def _resources(directory: Path) -> list[Path]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    files: list[Path] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        files += _resources(path) if path.is_dir() else [path]
    return files


def pause_source(release: KubeRelease, *, go: str = "go", environ: Mapping[str, str] | None = None) -> Path:
    """``build/pause/linux/pause.c`` of the release's k8s.io/kubernetes module: the pod sandbox's one process."""
    (kubernetes,) = [c for c in release.components if c.name == "kubernetes"]
    source = _source(kubernetes.module, kubernetes.tag, go, environ) / "build" / "pause" / "linux" / "pause.c"
    if not source.is_file():
        raise BuildError(f"{kubernetes.module}@{kubernetes.tag} has no build/pause/linux/pause.c ({source})")
    return source
