"""``onceonly k8s``: Kubernetes on the command line. ``render`` prints the manifests a scenario runs on
(``harness.cluster.kubernetes.render``); ``build`` builds the local control plane to test against from Go modules
(``toolchain.kube_build``); the backend that runs them and ``up`` are next (issue 14, items 2-4).

Secrets: the Dapr API token, the app token and the Redis password are generated per render, or taken from
``ONCEONLY_K8S_DAPR_API_TOKEN``, ``ONCEONLY_K8S_APP_TOKEN``, ``ONCEONLY_K8S_REDIS_PASSWORD`` (never from a flag: a
command line is visible to every user of the machine). They are in the printed Secret manifests and nowhere else.
"""

from __future__ import annotations

import os
import sys

import typer

from harness import cli_options as opt
from harness.about import onceonly_version
from harness.cluster.base import Tokens
from harness.cluster.kubernetes.manifests import Overlay
from harness.cluster.kubernetes.render import default_namespace, notes, render, to_yaml
from harness.errors import HarnessError
from toolchain import kube
from toolchain.gocmd import BuildError
from toolchain.selection import build_kube_with_progress

TOKEN_ENV = {
    "dapr_api": "ONCEONLY_K8S_DAPR_API_TOKEN",
    "app_api": "ONCEONLY_K8S_APP_TOKEN",
    "redis": "ONCEONLY_K8S_REDIS_PASSWORD",
}

k8s_app = typer.Typer(
    help="Kubernetes: the manifests a scenario runs on, the local control plane built (a backend is in progress).",
    no_args_is_help=True,
)


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
def build_command(version: opt.KubeVersionOpt = kube.DEFAULT_VERSION) -> None:
    """Build the local control plane from Go modules: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
    and kwok (a no-op when built). Nothing is started."""
    from harness.cli import display, fail

    try:
        build_kube_with_progress(kube.lookup(version), display())
    except (kube.UnknownKubeVersionError, BuildError) as exc:
        fail(exc)
