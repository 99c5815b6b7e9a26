"""The wrapper Go module of one control-plane component, rendered from its tag's own go.mod.

As for Dapr (``toolchain.wrapper``): ``go install k8s.io/kubernetes/cmd/kube-apiserver@v1.37.2`` is refused
because the module has replace directives, so onceonly renders a module that requires the component at its tag,
with its ``go`` line and its replace directives read from the go.mod the proxy serves (``go mod edit -json``),
never typed in by hand, and builds the upstream main packages from it untouched.

A replace that points at a directory of the upstream repository (``./staging/src/k8s.io/api``, ``../api``) cannot
work outside that repository. Such a replace is rewritten to the module it names at the version it is published
at (``Component.local_version``: ``k8s.io/api => k8s.io/api v0.37.2``, ``go.etcd.io/etcd/api/v3 => ... v3.6.16``)
when the tag requires that module, and dropped when it does not: such a replace pins nothing the build loads
(etcd's ``go.etcd.io/tests/v3 => ./FORBIDDEN_DEPENDENCY`` guards; kubernetes' unrequired sample modules).
"""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.gocmd import BuildError
from toolchain.kube import Component
from toolchain.wrapper import Replace, TagModule


@dataclass(frozen=True, slots=True)
class WrapperReplaces:
    kept: tuple[Replace, ...]  # as the wrapper's go.mod has them: the tag's, local ones rewritten
    dropped: tuple[Replace, ...]  # the tag's local replaces of modules it does not require


def is_local(replace: Replace) -> bool:
    """A replace by a directory (a path, not a module): ``./x``, ``../x``, ``/x``."""
    return replace.new_path.startswith(("./", "../", "/")) or replace.new_path in (".", "..")


def wrapper_replaces(component: Component, tag_module: TagModule) -> WrapperReplaces:
    """The tag's replace directives as the wrapper has them (see the module docstring).

    Raises:
        BuildError: the tag replaces a module it requires by a directory, and the table gives no published
            version to use instead.
    """
    kept: list[Replace] = []
    dropped: list[Replace] = []
    for r in tag_module.replaces:
        if not is_local(r):
            kept.append(r)
        elif r.old_path not in tag_module.requires:
            dropped.append(r)
        elif component.local_version is None:
            raise BuildError(
                f"{component.module}@{component.tag}'s go.mod replaces {r.old_path} by the directory {r.new_path}; "
                f"give the {component.name} entry in toolchain/kube.py the version that module is published at "
                "(local_version)"
            )
        else:
            kept.append(Replace(r.old_path, r.old_version, r.old_path, component.local_version))
    return WrapperReplaces(tuple(kept), tuple(dropped))


def render_go_mod(component: Component, tag_module: TagModule) -> str:
    """The wrapper's go.mod for ``component``."""
    replaces = wrapper_replaces(component, tag_module)
    binaries = ", ".join(name for name, _ in component.binaries)
    lines = [
        f"// Rendered by onceonly (toolchain/kube_wrapper.py). Builds {binaries} from {component.module} untouched.",
        f"module example.invalid/onceonly-kubebuild/{component.name}",
        "",
        f"go {tag_module.go}",
        "",
        f"require {component.module} {component.tag}",
    ]
    if replaces.kept:
        lines += ["", f"// replace directives of {component.module}@{component.tag}'s go.mod"]
        if component.local_version:
            lines.append(
                f"// (a directory of its repository replaced by the module published at {component.local_version})"
            )
        lines += ["replace (", *(f"\t{r.render()}" for r in replaces.kept), ")"]
    if replaces.dropped:
        lines += ["", "// dropped, for modules the tag does not require:"]
        lines += [f"// {r.render()}" for r in replaces.dropped]
    return "\n".join(lines) + "\n"
