"""The options and arguments of the ``onceonly`` commands (``harness.cli``): names, what each takes (its metavar:
``--help`` shows it, ``harness.cli_help``), environment fallbacks, help texts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolchain import kube
from toolchain.versions import DEFAULT_VERSION, SUPPORTED

VersionOpt = Annotated[
    str,
    typer.Option(
        "--version",
        "--dapr-version",
        envvar="ONCEONLY_DAPR_VERSION",
        metavar="VERSION",
        help=f"Dapr version. Known: {', '.join(SUPPORTED)}.",
    ),
]
KubeVersionOpt = Annotated[
    str,
    typer.Option(
        "--version",
        envvar="ONCEONLY_K8S_VERSION",
        metavar="VERSION",
        help=f"Kubernetes version of the local control plane. Known: {', '.join(kube.RELEASES)}.",
    ),
]
KubeDaprOpt = Annotated[
    str,
    typer.Option(
        "--dapr",
        envvar="ONCEONLY_DAPR_VERSION",
        metavar="VERSION",
        help=f"Dapr version whose sentry and injector run with the control plane. Known: {', '.join(SUPPORTED)}.",
    ),
]
ImagesDaprOpt = Annotated[
    str,
    typer.Option(
        "--dapr",
        envvar="ONCEONLY_DAPR_VERSION",
        metavar="VERSION",
        help=f"Dapr version of the images (daprd and the chart's control plane). Known: {', '.join(SUPPORTED)}.",
    ),
]
ImagesOutOpt = Annotated[
    Path | None,
    typer.Option("--out", metavar="DIR", help="Also put every archive and images.json in DIR (hard links if it can)."),
]
NodesOpt = Annotated[int, typer.Option("--nodes", min=1, max=100, metavar="N", help="Fake nodes kwok manages.")]
NodeOpt = Annotated[
    bool,
    typer.Option(
        "--node",
        help="Also one real node, onceonly-node: containerd, kubelet and kube-proxy running real pods (root; Debian's "
        "containerd, runc, CNI plugins; kwok's nodes tainted).",
    ),
]
HostDaprOpt = Annotated[
    bool,
    typer.Option(
        "--host-dapr/--no-host-dapr",
        help="Run Dapr's sentry and sidecar injector on the host (default). --no-host-dapr: Dapr's CRDs only, for "
        "Dapr from its chart on the real node (`onceonly k8s dapr install`).",
    ),
]
UpImagesOpt = Annotated[
    bool,
    typer.Option(
        "--images",
        help="With --node: import every image `onceonly k8s images --dapr VERSION` built (its images.json: Dapr's, "
        "Redis, the recorder) into the node's containerd before kubelet starts.",
    ),
]
UpImagesAlsoOpt = Annotated[
    str | None,
    typer.Option(
        "--images-also",
        metavar="VERSION",
        help="With --images: also import the images `onceonly k8s images --dapr VERSION` built (Dapr's, for a "
        "chart upgrade to VERSION: scenarios/k8s-chart-upgrade.yaml).",
    ),
]
DownDirOpt = Annotated[
    Path, typer.Option("--dir", metavar="DIR", help="The directory of the plane whose node's leftovers to remove.")
]
PlaneDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir", metavar="DIR", help="Certificates, kubeconfig, etcd data and logs (default reports/k8s-up/<UTC time>)."
    ),
]
# `onceonly k8s dapr ...`: Dapr from its own Helm chart (harness.cli_k8s_dapr)
ChartDaprOpt = Annotated[
    str,
    typer.Option(
        "--dapr",
        metavar="VERSION",
        help=f"Dapr version: its chart (the dapr Go module's charts/dapr), its images. Known: {', '.join(SUPPORTED)}.",
    ),
]
ChartNamespaceOpt = Annotated[str, typer.Option("--namespace", metavar="NAME", help="The release's namespace.")]
ChartSetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="A value of Dapr's chart: --set dapr_operator.logLevel=debug."),
]
ChartStorageOpt = Annotated[
    str,
    typer.Option(
        "--scheduler-storage",
        metavar="memory|volume",
        help="The scheduler's etcd in memory (no volume provisioner; Dapr 1.16's chart refuses it with 3 schedulers) "
        "or on a claim per replica (an upgrade keeps what the release was installed with).",
    ),
]
ChartRegistryOpt = Annotated[
    str,
    typer.Option("--registry", metavar="REGISTRY", help="Where the chart's images are: REGISTRY/NAME:VERSION."),
]
ChartKubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        metavar="FILE",
        help="The cluster (default: $KUBECONFIG, else ~/.kube/config).",
        show_default=False,
    ),
]
ChartWaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait until every Deployment and StatefulSet is rolled out.")
]
ChartTimeoutOpt = Annotated[
    str, typer.Option("--timeout", metavar="DURATION", help="helm's bound on the install (Go duration).")
]
ChartVolumesOpt = Annotated[
    Path | None,
    typer.Option(
        "--volumes-dir",
        metavar="DIR",
        help="With --scheduler-storage volume: first make a hostPath PersistentVolume under DIR (on the node) for "
        "each scheduler replica's claim, for a cluster without a provisioner.",
        show_default=False,
    ),
]
BinDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dapr-bin-dir",
        envvar="ONCEONLY_DAPR_BIN_DIR",
        metavar="DIR",
        help="Use the daprd and scheduler in this directory instead of building.",
    ),
]
ScenarioArg = Annotated[Path, typer.Argument(help="A scenario YAML file.", metavar="SCENARIO", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE", help="Override a scenario field: --set cluster.replicas=5 (repeatable)."
    ),
]
ReportsOpt = Annotated[Path, typer.Option("--reports", metavar="DIR", help="Where run directories go.")]
RunVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--dapr-version",
        envvar="ONCEONLY_DAPR_VERSION",
        metavar="VERSION",
        help=f"Dapr version (default: the scenario's, else {DEFAULT_VERSION}). Known: {', '.join(SUPPORTED)}.",
    ),
]
ThresholdOpt = Annotated[
    float,
    typer.Option(
        "--lateness-threshold",
        metavar="PERCENT",
        help="Percent by which lateness p99 may grow (and by --lateness-floor ms).",
    ),
]
FloorOpt = Annotated[
    float,
    typer.Option(
        "--lateness-floor",
        metavar="MS",
        help="Milliseconds by which lateness p99 must also grow to count (single runs on a busy machine are noisy).",
    ),
]
CompareOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", metavar="DIR", help="Where to write comparison.json and report.html (default reports/compare/<UTC>)."
    ),
]
TargetsArg = Annotated[
    list[Path],
    typer.Argument(
        help="OLD_RUN NEW_RUN: two finished run dirs (offline). Or TARGET: a scenario or suite file, with "
        "--dapr OLD --dapr NEW.",
        metavar="TARGET | OLD_RUN NEW_RUN",
        show_default=False,
    ),
]
BaselineOpt = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        metavar="FILE",
        help="A baseline YAML file (e.g. scenarios/baselines/dapr-1.16.0-to-1.18.2.yaml): accepted differences per "
        "scenario and source, each with a reason and an expiry, and per-scenario lateness thresholds.",
    ),
]
DaprOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--dapr",
        metavar="VERSION|DIR",
        help="Twice: the old and the new Dapr, each a version or a binaries directory (daprd, scheduler).",
    ),
]

OverrideOpt = Annotated[
    bool,
    typer.Option(
        "--override-scenario-dapr",
        help="Run a scenario that names its own Dapr version on the one given here instead (said on the terminal); "
        "without this flag that is refused (exit 3).",
    ),
]
RepeatOpt = Annotated[
    int,
    typer.Option(
        "--repeat",
        metavar="N",
        min=1,
        max=1000,
        help="Run each scenario N times (same seed) and report each anomaly kind as a rate per 1,000 occurrences "
        "with a 95% interval, and the share of runs that had it.",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Print only errors and the final line (the verdict or outcome): no progress, no tables."
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Print each progress step as a line (no spinner), and every witness."),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print a machine-readable summary (JSON, keys in reports/README.md) on stdout and nothing else there; "
        "every other line goes to stderr.",
    ),
]
RunDirArg = Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory.", show_default=False)]
SuiteFileArg = Annotated[
    Path,
    typer.Argument(metavar="SUITE_FILE", help="A suite YAML file (see scenarios/regression.yaml).", show_default=False),
]
JunitOpt = Annotated[Path, typer.Option("--junit", metavar="FILE", help="Where to write the JUnit XML.")]
OnlyOpt = Annotated[
    list[str] | None, typer.Option("--only", metavar="NAME", help="Run only this scenario (repeatable).")
]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", metavar="NAME", help="Skip this scenario (repeatable).")]
ReplicasOpt = Annotated[int, typer.Option(metavar="N", help="Number of replicas (app + daprd), all one app-id.")]
SchedulersOpt = Annotated[int, typer.Option(metavar="1|3", help="1, or 3 for an HA scheduler cluster.")]
UpRunDirOpt = Annotated[
    Path | None, typer.Option(metavar="DIR", help="Logs and state (default reports/up/<UTC time>).")
]
ReadyTimeoutOpt = Annotated[float, typer.Option(metavar="SECONDS", help="Seconds to wait for readiness.")]
WebOpt = Annotated[
    bool, typer.Option("--web/--headless", help="Serve Locust's web UI with onceonly's live tab while it runs.")
]
WebPortOpt = Annotated[int, typer.Option(metavar="PORT", help="Loopback port of the web UI.")]
WorkersOpt = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="Run Locust distributed: a master (stages, web UI, CSVs) and N worker processes running the users "
        "(0: one process).",
    ),
]
ImageOpt = Annotated[
    str | None,
    typer.Option(
        "--image",
        metavar="IMAGE",
        help="The recorder app's container image (default: onceonly-target-app:<onceonly's version>).",
        show_default=False,
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        metavar="NAME",
        help="The namespace of every manifest, and the ledger's run id (default: onceonly-<scenario name>).",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend", metavar="local|kubernetes", help="Where the run's cluster runs: local processes, or Kubernetes."
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option(
        "--context",
        metavar="CONTEXT",
        help="kubernetes: the kubeconfig context ($KUBECONFIG or ~/.kube/config; default: its current one).",
        show_default=False,
    ),
]
RunNamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        metavar="NAME",
        help="kubernetes: the run's namespace, which must not exist (default: onceonly-NAME-ID, the scenario's name "
        "and 8 hex of the run id).",
        show_default=False,
    ),
]
RunImageOpt = Annotated[
    str | None,
    typer.Option(
        "--image",
        metavar="IMAGE",
        help="kubernetes: the recorder app's image, pullable by the cluster (default: onceonly-target-app:VERSION, "
        "onceonly's).",
        show_default=False,
    ),
]
DaprNamespaceOpt = Annotated[
    str, typer.Option("--dapr-namespace", metavar="NAME", help="kubernetes: where Dapr is installed.")
]
AllowSchedulerFaultsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-scheduler-faults",
        help="kubernetes: let scheduler faults delete pods of Dapr's scheduler in --dapr-namespace.",
    ),
]

JournalHostDirOpt = Annotated[
    str | None,
    typer.Option(
        "--journal-host-dir",
        metavar="DIR",
        help="kubernetes: keep the apps' fallback journals on each node in DIR/NAMESPACE (DIR absolute; a hostPath "
        "volume) instead of each pod's emptyDir, so the journal of a pod a fault deleted is still read; the run's "
        "journals are removed at its end.",
        show_default=False,
    ),
]


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:  # not while the shell completes a command line
        from harness.about import onceonly_version

        typer.echo(f"onceonly {onceonly_version()}")
        raise typer.Exit(0)


PrintVersionOpt = Annotated[
    bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print onceonly's version and exit.")
]
