"""The ``onceonly`` command line: the only place that reads options and the environment and wires parts together.

Exit codes (``harness.errors.ExitCode``), the same for every command: 0 pass, 1 anomaly (a regression, a prediction
that did not hold), 2 unknown, 3 bad input (nothing was started), 4 environment or internal error (an unhandled
error too: its traceback goes to the run dir, ``traceback.txt``), 130 interrupted.
Environment fallbacks: ``ONCEONLY_DAPR_VERSION``, ``ONCEONLY_DAPR_BIN_DIR``, ``ONCEONLY_CACHE_DIR`` (default
``$XDG_CACHE_HOME/onceonly/dapr``, else ``~/.cache/onceonly/dapr``).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

try:  # typer >= 0.26 vendors click as typer._click; its usage errors are not click's
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import UsageError  # type: ignore[assignment]
from rich.console import Console
from rich.text import Text

from harness import cli_backend
from harness import cli_options as opt
from harness import cli_output as output_mode
from harness.campaign import up as standing
from harness.cli_dapr import dapr_app
from harness.cli_help import plain_help
from harness.cli_k8s import k8s_app
from harness.cli_trend import trend as trend_command
from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import find_redis_server
from harness.cluster.local.ports import is_listening
from harness.cluster.local.processes import Interrupted, exit_on_signals
from harness.errors import OUTCOME_EXIT, ExitCode, HarnessError, InputError, overall
from harness.report import json_summary, terminal
from toolchain.build import BuildError
from toolchain.kube import UnknownKubeVersionError
from toolchain.probe import ProbeError
from toolchain.selection import prepare_fault_proxy, resolve_binaries
from toolchain.versions import DEFAULT_VERSION, UnknownVersionError, lookup

if TYPE_CHECKING:
    from harness.scenario.schema import Scenario

console = Console(stderr=True)
out = Console()

app = typer.Typer(
    name="onceonly",
    help="Measure whether a scheduled task fires once when an app runs as many replicas on a real Dapr.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion; main() names the program "onceonly"
    pretty_exceptions_enable=False,
)
plain_help()  # --set KEY=VALUE, not --set <list[str]>
app.add_typer(dapr_app, name="dapr")
app.add_typer(k8s_app, name="k8s")
app.command("trend")(trend_command)


@app.callback()
def _options(
    version: opt.PrintVersionOpt = False,
    quiet: opt.QuietOpt = False,
    verbose: opt.VerboseOpt = False,
) -> None:
    """Measure whether a scheduled task fires once when an app runs as many replicas on a real Dapr."""
    try:
        output_mode.choose(quiet=quiet, verbose=verbose)
    except InputError as exc:
        fail(exc)


def fail(exc: BaseException) -> NoReturn:
    """Print an error the user can act on and exit with the code its kind maps to."""
    if isinstance(exc, HarnessError):
        code = int(exc.exit_code)
    elif isinstance(exc, UnknownVersionError | UnknownKubeVersionError):
        code = ExitCode.BAD_INPUT
    else:
        code = ExitCode.ENVIRONMENT
    console.print("[bold red]error:[/]", Text(str(exc)), highlight=False, soft_wrap=True)  # no markup in the text
    raise typer.Exit(code)


def output(json_: bool = False) -> output_mode.Output:
    """Where this command's lines go (this module's consoles, the chosen -q/-v, its --json)."""
    return output_mode.Output(console, out, output_mode.verbosity(), json_)


def display() -> terminal.RichDisplay:
    """How binary selection, builds and a campaign's cases show their progress (on this module's consoles)."""
    return output().display()


SELECTION_ERRORS = (HarnessError, UnknownVersionError, BuildError, ProbeError)


@app.command()
def up(
    replicas: opt.ReplicasOpt = 3,
    schedulers: opt.SchedulersOpt = 1,
    version: opt.VersionOpt = DEFAULT_VERSION,
    bin_dir: opt.BinDirOpt = None,
    run_dir: opt.UpRunDirOpt = None,
    ready_timeout: opt.ReadyTimeoutOpt = 90.0,
) -> None:
    """Start Redis, the scheduler(s) and N replicas on 127.0.0.1 and keep them up until Ctrl-C."""
    spec = ClusterSpec(replicas=replicas, schedulers=schedulers, ready_timeout=ready_timeout)
    try:
        spec.validate()  # bad input: say so and start nothing
        if bin_dir is None:
            lookup(version)
        redis_server = find_redis_server()
        bins = resolve_binaries(version, bin_dir, display())
    except (HarnessError, UnknownVersionError, BuildError, ProbeError) as exc:
        fail(exc)
    run_dir = run_dir or Path("reports") / "up" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_dir.mkdir(parents=True, exist_ok=True)
    output().info(
        f"daprd {bins.daprd_version} and scheduler {bins.scheduler_version} from {bins.source}; run dir {run_dir}"
    )
    try:
        left = standing.hold(spec, bins, run_dir, redis_server, display())
    except HarnessError as exc:
        fail(exc)
    output().final("stopped; no process of the run is left" if not left else f"[red]still running: {left}")


HEADLINE = Path(__file__).resolve().parents[1] / "scenarios" / "jobs-vs-cron.yaml"


def load(path: Path, overrides: list[str] | None) -> Scenario:
    from harness.scenario.loader import load_scenario

    try:
        return load_scenario(path, overrides or ())
    except HarnessError as exc:
        fail(exc)


@app.command()
def validate(scenario: opt.ScenarioArg, set_: opt.SetOpt = None) -> None:
    """Check a scenario file without starting anything."""
    sc = load(scenario, set_)
    jobs, bindings = sc.job_plans(), sc.binding_plans()
    fans = "".join(f", fan-out {f.name} ({f.fanout.count} one-shot jobs)" for f in sc.fanouts if f.fanout)
    output().final(
        f"ok: {scenario}: scenario {sc.name!r} (hash {sc.canonical_hash()}): {sc.cluster.replicas} replica(s), "
        f"{len(jobs)} job(s){fans}, {len(bindings)} cron binding(s)"
    )


def _run(
    scenario_path: Path,
    overrides: list[str] | None,
    version: str | None,
    bin_dir: Path | None,
    reports: Path,
    *,
    web_port: int | None = None,
    workers: int = 0,
    need_load: bool = False,
    override: bool = False,
    repeat: int = 1,
    json_: bool = False,
    target: cli_backend.Target = cli_backend.Target(),  # noqa: B008 (frozen: one shared default is safe)
) -> None:
    from harness.campaign import binaries, experiment
    from harness.io import store

    mode = output(json_)
    sc = load(scenario_path, overrides)  # bad input: exit 3, nothing started
    if need_load and sc.workload.load is None:
        fail(InputError(f"{scenario_path}: workload.load is missing: `onceonly load` needs load stages to run"))
    if web_port is not None and is_listening(web_port):
        fail(InputError(f"port {web_port} on 127.0.0.1 is taken: choose another with --web-port"))
    if workers:
        from harness.load.process import check_workers

        try:
            check_workers(workers)
        except InputError as exc:
            fail(exc)
    try:
        note = binaries.override_note(sc, version, bin_dir)
        if note is not None and override:
            mode.info(f"note: {note}; running it on that anyway ({binaries.OVERRIDE_FLAG})")
        kube = cli_backend.kubernetes(target, sc, repeat, mode.info)  # None: local
        bins, upgrade = (
            kube.dapr if kube else binaries.case_binaries(sc, version, bin_dir, display(), override=override)
        )
        proxy = prepare_fault_proxy(display()) if sc.needs_fault_proxy and kube is None else None
    except SELECTION_ERRORS as exc:
        fail(exc)
    if repeat > 1:
        from harness.cli_repeat import run_set

        raise typer.Exit(run_set(mode, sc, bins, upgrade, proxy, repeat, reports))
    run_dir = store.new_run_dir(reports, sc.name, sc.canonical_hash())
    to = "" if upgrade is None else f", rolling upgrade to daprd {upgrade.daprd_version} ({upgrade.source})"
    mode.info(
        f"scenario {sc.name} ({sc.canonical_hash()}): daprd {bins.daprd_version}, scheduler "
        f"{bins.scheduler_version} ({bins.source}){to}; run dir {run_dir}"
    )
    outcome = None
    try:
        with exit_on_signals(), terminal.run_progress(console, mode.verbosity) as (say, wait):
            if web_port is not None:
                mode.info(f"Locust web UI (with the onceonly tab): http://127.0.0.1:{web_port}/?tab=onceonly")
            opts = experiment.RunOptions(
                progress=say, countdown=wait, toxiproxy=proxy, web_port=web_port, workers=workers, upgrade=upgrade
            )
            outcome = experiment.run(sc, bins, run_dir, **opts | cli_backend.run_options(kube))
    except (KeyboardInterrupt, Interrupted):
        console.print(f"interrupted; the cluster was stopped. Partial run in {run_dir}")
        raise typer.Exit(130) from None
    except HarnessError as exc:
        fail(exc)
    if not mode.quiet:
        terminal.print_results(mode.human, outcome.results, mode.verbose)
    verdict = outcome.results["verdict"]
    mode.final(f"verdict: {verdict}  ({run_dir}/report.html, summary.md, results.json, junit.xml)")
    mode.emit(lambda: json_summary.run_summary(outcome.results, run_dir))
    raise typer.Exit(OUTCOME_EXIT[verdict])


@app.command()
def run(
    scenario: opt.ScenarioArg,
    set_: opt.SetOpt = None,
    version: opt.RunVersionOpt = None,
    bin_dir: opt.BinDirOpt = None,
    reports: opt.ReportsOpt = Path("reports"),
    override: opt.OverrideOpt = False,
    repeat: opt.RepeatOpt = 1,
    json_: opt.JsonOpt = False,
    backend: opt.BackendOpt = "local",
    context: opt.ContextOpt = None,
    namespace: opt.RunNamespaceOpt = None,
    image: opt.RunImageOpt = None,
    dapr_namespace: opt.DaprNamespaceOpt = cli_backend.DAPR_NAMESPACE,
    allow_scheduler_faults: opt.AllowSchedulerFaultsOpt = False,
    journal_dir: opt.JournalHostDirOpt = None,
) -> None:
    """Run one scenario on a real Dapr (local processes, or --backend kubernetes) and judge it. Exit 0 pass, 1
    anomaly, 2 unknown, 3 bad input, 4 env; with --repeat, the worst of the runs by that precedence (1, then 4, 2)."""
    target = cli_backend.Target(backend, context, namespace, image, dapr_namespace, allow_scheduler_faults, journal_dir)
    _run(scenario, set_, version, bin_dir, reports, override=override, repeat=repeat, json_=json_, target=target)


@app.command("load")
def load_command(
    scenario: opt.ScenarioArg,
    web: opt.WebOpt = False,
    web_port: opt.WebPortOpt = 8089,
    workers: opt.WorkersOpt = 0,
    set_: opt.SetOpt = None,
    version: opt.RunVersionOpt = None,
    bin_dir: opt.BinDirOpt = None,
    reports: opt.ReportsOpt = Path("reports"),
    override: opt.OverrideOpt = False,
    json_: opt.JsonOpt = False,
) -> None:
    """Run a scenario's load stages (Locust) against the Jobs API and account for every job created. Exit codes
    as `run`; Locust's CSVs and HTML report go to <run dir>/locust/."""
    port = web_port if web else None
    _run(
        scenario,
        set_,
        version,
        bin_dir,
        reports,
        web_port=port,
        workers=workers,
        need_load=True,
        override=override,
        json_=json_,
    )


@app.command()
def demo(
    version: opt.RunVersionOpt = None,
    bin_dir: opt.BinDirOpt = None,
    reports: opt.ReportsOpt = Path("reports"),
    json_: opt.JsonOpt = False,
) -> None:
    """Build Dapr if needed and run the headline scenario: Jobs API vs cron binding on 3 replicas."""
    _run(HEADLINE, None, version, bin_dir, reports, json_=json_)


@app.command()
def check(run_dir: opt.RunDirArg, json_: opt.JsonOpt = False) -> None:
    """Re-judge a finished run offline (no services) and reproduce its results.json."""
    from harness.campaign import experiment
    from harness.io import store

    try:
        sc = experiment.finished_scenario(run_dir)
    except HarnessError as exc:
        fail(exc)
    store.working_in(run_dir)  # an unhandled error's traceback goes there
    try:
        rejudged = experiment.rejudge(run_dir, sc)
    except HarnessError as exc:
        fail(exc)
    mode, results = output(json_), rejudged.outcome.results
    if not mode.quiet:
        terminal.print_results(mode.human, results, mode.verbose)
    reproduced = None if rejudged.previous is None else rejudged.previous == rejudged.now  # None: there was none
    how = {
        None: "results.json written (there was none)",
        True: "results.json reproduced",
        False: "[yellow]results.json changed on re-judging[/]",
    }[reproduced]
    mode.final(f"verdict: {results['verdict']}; {how}")
    mode.emit(lambda: {**json_summary.run_summary(results, run_dir), "reproduced": reproduced})
    raise typer.Exit(OUTCOME_EXIT[results["verdict"]])


@app.command()
def compare(
    targets: opt.TargetsArg,
    dapr: opt.DaprOpt = None,
    lateness_threshold: opt.ThresholdOpt = 20.0,
    lateness_floor: opt.FloorOpt = 5.0,
    out_dir: opt.CompareOutOpt = None,
    baseline: opt.BaselineOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Compare two Dapr versions on the same scenarios, or two finished runs, figure by figure: regressions and
    improvements, each with its size.

    `onceonly compare TARGET --dapr 1.16.0 --dapr 1.18.2` builds both if needed and runs every scenario of TARGET
    on each (same seed, old then new per scenario); `onceonly compare OLD_RUN NEW_RUN` compares two judged runs
    offline. With --baseline, a regression a waiver accepts is listed with its reason and does not fail. Exit 1 on
    any regression no waiver accepts, 4 when a run could not finish, 0 otherwise, 3 on bad input, 130 interrupted.
    """
    target = out_dir or Path("reports") / "compare" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if dapr:
        if len(dapr) != 2 or len(targets) != 1:
            fail(
                InputError(
                    "compare with --dapr takes one TARGET (a scenario or suite file) and --dapr exactly twice "
                    "(old, then new), e.g. `onceonly compare scenarios/jobs-vs-cron.yaml --dapr 1.16.0 --dapr 1.18.2`"
                )
            )
        _compare_versions(targets[0], dapr[0], dapr[1], (lateness_threshold, lateness_floor), target, baseline, json_)
    if len(targets) != 2:
        fail(
            InputError(
                "compare takes two finished run directories (OLD_RUN NEW_RUN), or one scenario or suite file with "
                "--dapr OLD --dapr NEW"
            )
        )
    _compare_runs(targets[0], targets[1], (lateness_threshold, lateness_floor), target, baseline, json_)


def _compare_runs(
    old_run: Path, new_run: Path, lateness: tuple[float, float], target: Path, baseline: Path | None, json_: bool
) -> NoReturn:
    from harness.campaign import gate, versions

    try:
        result, old_doc, new_doc = versions.compare_runs(old_run, new_run, gate.gate(lateness, baseline))
    except InputError as exc:
        fail(exc)
    mode = output(json_)
    if not mode.quiet:
        terminal.print_comparison(mode.human, result, f"onceonly compare: {old_doc['verdict']} → {new_doc['verdict']}")
    page = versions.write_runs_comparison(target, result, old_doc, new_doc)
    mode.final(f"{len(result.regressions)} regression(s); wrote {target / 'comparison.json'} and {page}")
    code = ExitCode.FAIL if result.regressions else ExitCode.PASS
    mode.emit(lambda: json_summary.comparison_summary(result.to_dict(), code))
    raise typer.Exit(code)


def _compare_versions(
    target_file: Path,
    old: str,
    new: str,
    lateness: tuple[float, float],
    target: Path,
    baseline: Path | None,
    json_: bool,
) -> NoReturn:
    from harness.campaign import versions

    mode = output(json_)
    shown = mode.display()
    try:  # the baseline and every scenario validated, then every binary found or built, before anything is started
        gate = versions.gate_for(target_file, baseline, lateness)
        plan = versions.prepare(target_file, old, new, shown)
    except SELECTION_ERRORS as exc:
        fail(exc)
    done = versions.run(plan, gate, target, shown)
    if done.interrupted:
        console.print(f"interrupted after {len(done.pairs)} of {len(plan.cases)} scenario(s); their runs are kept")
        mode.emit(lambda: json_summary.comparison_summary(versions.read_comparison(target), ExitCode.INTERRUPTED))
        raise typer.Exit(130)
    mode.show(terminal.versions_table(f"onceonly compare {target_file.name}: Dapr {old} → {new}", done.pairs))
    regressions = sum(len(p.comparison.regressions) for p in done.pairs if p.comparison is not None)
    errors = sum(p.comparison is None for p in done.pairs)
    mode.final(
        f"{regressions} regression(s), {errors} failed run(s); wrote {target / 'comparison.json'} and {done.page}"
    )
    code = overall([ExitCode.FAIL] * bool(regressions) + [ExitCode.ENVIRONMENT] * bool(errors))
    mode.emit(lambda: json_summary.comparison_summary(versions.read_comparison(target), code))
    raise typer.Exit(code)


@app.command()
def suite(
    suite_file: opt.SuiteFileArg,
    junit: opt.JunitOpt = Path("reports/junit.xml"),
    only: opt.OnlyOpt = None,
    skip: opt.SkipOpt = None,
    version: opt.RunVersionOpt = None,
    bin_dir: opt.BinDirOpt = None,
    reports: opt.ReportsOpt = Path("reports"),
    override: opt.OverrideOpt = False,
    repeat: opt.RepeatOpt = 1,
    baseline: opt.BaselineOpt = None,
    json_: opt.JsonOpt = False,
) -> None:
    """Run a list of scenarios, one JUnit test case each; a case passes when its predicted verdict holds (or when
    --baseline waives each difference). With --repeat N (or a case's own `repeat:`), each case runs N times: its
    verdict and counts held against every run, its rate bounds against the rates over all of them."""
    from harness.campaign import suite as campaign_suite
    from harness.scenario import suite as suites

    mode = output(json_)
    shown = mode.display()
    try:  # every scenario validated, then every case's binaries found or built, before the first case
        plan = campaign_suite.prepare(
            suite_file, only, skip, version, bin_dir, shown, override=override, repeat=repeat, baseline=baseline
        )
    except SELECTION_ERRORS as exc:
        fail(exc)
    done = campaign_suite.run(plan, reports, junit, shown)
    table = terminal.suite_view(plan.name, plan.daprds, done.outcomes)
    if done.interrupted:
        console.print(f"interrupted after {len(done.outcomes)} of {len(plan.cases)} scenario(s); their runs are kept")
        mode.show(table)
        mode.emit(lambda: json_summary.suite_summary(plan.name, done.outcomes, junit, ExitCode.INTERRUPTED))
        raise typer.Exit(130)
    mode.show(table)
    code = suites.exit_code(done.outcomes)
    mode.final(f"suite {plan.name}: {json_summary.outcome_word(code)}  (JUnit: {junit})")
    mode.emit(lambda: json_summary.suite_summary(plan.name, done.outcomes, junit, code))
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point. Click's usage errors exit 2 by default, which is "unknown" here: remap to 3.

    Ctrl-C raises KeyboardInterrupt whatever the process inherited: started as a background job of a
    non-interactive shell (nohup, some CI runners), a process inherits SIGINT ignored and Python then installs no
    handler, so Ctrl-C would do nothing and a run could not be interrupted cleanly. SIGTERM and SIGHUP get their
    handlers around each command (``exit_on_signals``), whatever was inherited."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # with standalone_mode off, typer.Exit returns its code; shell completion (_ONCEONLY_COMPLETE set by the
        # script `onceonly --show-completion` prints) answers and exits before any command runs
        code = app(args=argv, prog_name="onceonly", standalone_mode=False)
    except UsageError as exc:
        exc.show()
        sys.exit(ExitCode.BAD_INPUT)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except InputError as exc:  # pragma: no cover - commands call fail() themselves
        console.print(f"error: {exc}")
        sys.exit(ExitCode.BAD_INPUT)
    except HarnessError as exc:
        console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # onceonly's own bug: never exit 1, which means "anomaly found"
        sys.exit(output_mode.internal_error(console, exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
