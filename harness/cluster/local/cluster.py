"""The local cluster backend: redis-server, one or three schedulers and N replicas as processes on 127.0.0.1.

Start order: Redis (answers PING), all scheduler members at once (etcd needs a quorum to bootstrap; each
answers /healthz), the apps, then the daprds, then the readiness wait of ``harness.cluster.local.readiness``.
Stop order: daprds, apps, schedulers, Redis. ``stop`` runs from ``__exit__`` whatever happened, with SIGINT
and SIGTERM ignored while it runs so a second Ctrl-C cannot cut a teardown short.

The operations fault work needs are methods here, all by replica index or scheduler index: ``scale``,
``kill`` (app, daprd or both; any signal), ``pause``/``resume`` (SIGSTOP/SIGCONT), ``restart_replica``,
``stop_scheduler``/``start_scheduler``/``restart_scheduler``, and for a rolling upgrade ``upgrade_scheduler`` /
``upgrade_replica`` (restart one member on other binaries). A restarted process keeps its ports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import cast

import httpx
import redis

from harness.cluster.base import PARTS, ClusterSpec, Direction, MetricsTarget, NetworkKind, Part, Tokens, WithoutChart
from harness.cluster.local import byo, inventory, readiness
from harness.cluster.local.members import DAPR_CONFIG, RedisMember, ReplicaMember, SchedulerMember
from harness.cluster.local.ports import PortAllocator, is_listening
from harness.cluster.local.processes import Supervisor
from harness.cluster.local.proxy import FaultProxyMember, Toxic, ToxiproxyClient, toxics_for
from harness.errors import ClusterError, InputError, MissingTool
from harness.model import Capability
from toolchain.binaries import Binaries


def find_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise MissingTool(
            "redis-server is not on PATH. onceonly runs its own Redis for every run: install Debian's "
            "package with `apt-get install redis-server` (or put a redis-server binary on PATH)."
        )
    return path


class LocalCluster(WithoutChart):
    """A cluster of real processes on 127.0.0.1. Use as a context manager: ``with LocalCluster(...) as c:``."""

    capabilities = frozenset(Capability) - {Capability.CHART_UPGRADE}  # no Helm chart: WithoutChart

    def __init__(
        self,
        spec: ClusterSpec,
        binaries: Binaries,
        run_dir: Path,
        *,
        tokens: Tokens | None = None,
        http: httpx.Client | None = None,
        redis_server: str | None = None,
        python: str = sys.executable,
        on_progress: Callable[[str], None] | None = None,
        run_id: str | None = None,
        resources: dict[str, str] | None = None,
        app_env: dict[str, str] | None = None,
        toxiproxy: Path | None = None,
    ) -> None:
        """``resources``: Dapr component files (file name -> YAML) for every daprd; ``app_env``: extra
        environment for every app (its behaviour); ``run_id`` names the run's ledger (default: the run dir name);
        ``toxiproxy``: the toxiproxy-server binary, needed when ``spec.fault_proxy``.
        """
        spec.validate()
        if spec.fault_proxy and toxiproxy is None:
            raise MissingTool("this cluster needs the fault proxy, but no toxiproxy-server binary was given")
        self._toxiproxy = toxiproxy
        self.spec = spec
        self.binaries = binaries
        self.run_dir = run_dir
        self.tokens = tokens or Tokens()
        self.redis_server = redis_server or find_redis_server()  # checked before anything starts
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._python = python
        self._progress = on_progress or (lambda _msg: None)
        self.run_id = run_id or run_dir.name
        self._resources = dict(resources or {})
        self._app_env = dict(app_env or {})
        self.ports = PortAllocator()
        self.supervisor = Supervisor(run_dir / "logs", on_change=lambda _s: inventory.write_processes(self))
        self.redis = RedisMember(self.ports.take(), self.tokens.redis, run_dir / "redis")
        self.schedulers = [SchedulerMember.allocate(i, self.ports, run_dir) for i in range(spec.schedulers)]
        self.proxy = FaultProxyMember.allocate(spec.schedulers, self.ports) if spec.fault_proxy else None
        self.replicas: dict[int, ReplicaMember] = {}
        self.hops: dict[int, byo.HopMember] = {}  # a user's own app (spec.user_app): each replica's hop
        # the binaries a member runs when it is not on ``binaries`` (a rolling upgrade switched it)
        self._scheduler_bins: dict[int, Binaries] = {}
        self._daprd_bins: dict[int, Binaries] = {}
        self._stopped_schedulers: set[int] = set()
        self._next_index = 0
        self.started_at: float | None = None
        # replica index -> (ready since, removed at) in ns, for replicas added or removed by scale() after start;
        # replicas of the initial start are absent until scale() removes one
        self.lifetimes: dict[int, tuple[int, int | None]] = {}
        self.removed: dict[int, int] = {}  # replica index -> when scale had stopped its app and daprd (surely gone)
        self.ready_seconds: float | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._write_dapr_files()
        self._start_redis()
        if self.proxy is not None:
            self._start_proxy(self.proxy)
        self._progress(f"starting {len(self.schedulers)} scheduler(s)")
        for member in self.schedulers:
            self._start_scheduler(member)
        self.wait_ready(what="schedulers")
        self._progress(f"starting {self.spec.replicas} replica(s) (app + daprd)")
        for _ in range(self.spec.replicas):
            self._add_replica()
        self.wait_ready()
        self.ready_seconds = time.monotonic() - self.started_at

    def stop(self) -> None:
        """Stop every process of the run; safe to call more than once."""
        with _signals_ignored():
            daprds = [r.daprd_name for r in self.replicas.values()]
            apps = [r.app_name for r in self.replicas.values()] + [h.name for h in self.hops.values()]
            scheds = [m.name for m in self.schedulers]
            proxy = [] if self.proxy is None else [self.proxy.name]
            self.supervisor.stop_all(order=[daprds, apps, scheds, proxy, [self.redis.name]])
            if self._owns_http:
                self._http.close()

    # --- what is running -----------------------------------------------------------------------------------

    @property
    def scheduler_addresses(self) -> list[str]:
        """Where daprd reaches each live member: the member itself, or its fault proxy link."""
        return [self.scheduler_address(m.index) for m in self._live_schedulers()]

    def scheduler_address(self, index: int) -> str:
        return self._scheduler(index).address if self.proxy is None else self.proxy.address(index)

    def toxiproxy(self) -> ToxiproxyClient:
        if self.proxy is None:
            raise InputError("this cluster has no fault proxy: network faults need ClusterSpec(fault_proxy=True)")
        return ToxiproxyClient(self._http, self.proxy.api)

    def redis_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.redis.port, password=self.tokens.redis)

    def endpoints(self) -> dict[str, object]:
        return inventory.endpoints(self)

    def replica_of_pod(self, pod: str) -> int:
        """-1: local replicas are no pods (their arrivals carry their own index, never a pod's name)."""
        return -1

    @property
    def scheduler_count(self) -> int:
        return len(self.schedulers)

    @property
    def redis_port(self) -> int:
        return self.redis.port

    def live_replica(self) -> ReplicaMember | None:
        """The lowest-indexed replica whose daprd is running now (not paused), or None."""
        for index in sorted(self.replicas):
            child = self.supervisor.children.get(self.replicas[index].daprd_name)
            if child is not None and child.alive() and not child.paused:
                return self.replicas[index]
        return None

    def journal_texts(self) -> list[str | None]:
        return inventory.read_journals(self.journal_dir)

    def metrics_targets(self) -> list[MetricsTarget]:
        return inventory.metrics_targets(self)

    def start_helper(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        """Start a process beside the cluster (the load's Locust), supervised like the members."""
        self.supervisor.start(name, list(argv), dict(env), cwd=cwd)

    def stop_helper(self, name: str) -> int | None:
        return self.supervisor.stop(name)

    def wait_ready(self, what: str = "cluster", timeout: float | None = None) -> float:
        """Wait until every live member is ready (see ``harness.cluster.local.readiness``); the seconds it took."""
        http, live = self._http, self.scheduler_addresses
        checks = [readiness.scheduler_healthy(http, m) for m in self._live_schedulers()]
        watch = [m.name for m in self._live_schedulers()] + [self.redis.name]
        if what != "schedulers":
            streams = self._job_streams() * len(self.replicas)
            for r in self.replicas.values():
                checks.append(readiness.daprd_healthy(http, r))
                checks.append(readiness.daprd_connected(http, r, self.tokens.dapr_api, live))
                watch += [r.app_name, r.daprd_name]
                if r.index in self.hops and self.spec.user_app is not None:
                    checks.append(byo.app_ready(http, self.hops[r.index], self.spec.user_app, r.app_name))
                    watch.append(self.hops[r.index].name)
            checks += [readiness.scheduler_streams(http, m, streams) for m in self._live_schedulers()]
        return readiness.wait_until_ready(
            checks, self.supervisor, watch, timeout or self.spec.ready_timeout, on_wait=self._progress
        )

    # --- operations for faults -----------------------------------------------------------------------------

    def scale(self, replicas: int) -> None:
        """Add replicas (new indices) or remove the newest ones, then wait until the cluster is ready."""
        if replicas < 1:
            raise InputError(f"cannot scale to {replicas} replicas: at least 1 is needed")
        added = []
        while len(self.replicas) < replicas:
            added.append(self._add_replica().index)
        while len(self.replicas) > replicas:
            index = max(self.replicas)
            self.lifetimes[index] = (self.lifetimes.get(index, (0, None))[0], time.time_ns())
            member = self.replicas.pop(index)
            self.supervisor.stop(member.daprd_name)
            self.supervisor.stop(member.app_name)
            if index in self.hops:
                self.supervisor.stop(self.hops.pop(index).name)
            self.removed[index] = time.time_ns()
        self.wait_ready()
        for index in added:
            self.lifetimes[index] = (time.time_ns(), None)

    def cut_network(
        self, members: Sequence[int], kind: NetworkKind, direction: Direction, delay_ms: int, tag: str
    ) -> list[Toxic]:
        """Toxics on the fault proxy's link to each member (``harness.cluster.local.proxy``); ``mend_network``
        removes them."""
        if self.proxy is None:
            raise InputError("this cluster has no fault proxy: network faults need ClusterSpec(fault_proxy=True)")
        toxics = [t for m in members for t in toxics_for(self.proxy.link(m), kind, direction, delay_ms, tag=tag)]
        proxy = self.toxiproxy()
        for toxic in toxics:
            proxy.add(toxic)
        return toxics

    def mend_network(self, cut: object) -> None:
        proxy = self.toxiproxy()
        for toxic in cast(list[Toxic], cut):
            proxy.remove(toxic)

    def kill(self, index: int, part: Part = "both", sig: signal.Signals = signal.SIGKILL) -> bool:
        """Send ``sig`` to a replica's app, daprd or both and wait (up to 10 s) for them to exit; they stay down
        until restarted (False)."""
        for name in self._names(index, part):
            self.supervisor.kill(name, sig)
        return False

    def pause(self, index: int, part: Part = "both") -> None:
        for name in self._names(index, part):
            self.supervisor.send_signal(name, signal.SIGSTOP)

    def resume(self, index: int, part: Part = "both") -> None:
        for name in self._names(index, part):
            self.supervisor.send_signal(name, signal.SIGCONT)

    def restart_replica(self, index: int, part: Part = "both", wait: bool = True) -> None:
        """Stop (gracefully) and start again a replica's app, daprd or both, on the same ports."""
        member = self._replica(index)
        names = self._names(index, part)
        for name in reversed(names):  # daprd before app
            self.supervisor.stop(name)
        if member.app_name in names:
            self._start_app(member)
        if member.daprd_name in names:
            self._start_daprd(member)
        if wait:
            self.wait_ready()

    def stop_scheduler(self, index: int, sig: signal.Signals = signal.SIGTERM) -> None:
        member = self._scheduler(index)
        if sig == signal.SIGTERM:
            self.supervisor.stop(member.name)
        else:
            self.supervisor.kill(member.name, sig)
        self._stopped_schedulers.add(index)

    def start_scheduler(self, index: int, wait: bool = True) -> None:
        """Start a stopped member again with the same id, ports and data dir (it rejoins its cluster)."""
        member = self._scheduler(index)
        self._start_scheduler(member)
        self._stopped_schedulers.discard(index)
        if wait:
            self.wait_ready()

    def restart_scheduler(self, index: int = 0, sig: signal.Signals = signal.SIGTERM, wait: bool = True) -> None:
        self.stop_scheduler(index, sig)
        self.start_scheduler(index, wait=wait)

    def upgrade_scheduler(self, index: int, to: Binaries, wait: bool = True) -> str:
        """Stop member ``index`` gracefully and start it on ``to``'s scheduler (same id, ports and data dir): one
        step of a rolling upgrade. Returns "<old> -> <new>" versions."""
        before = self.scheduler_binaries(index).scheduler_version
        self.stop_scheduler(index, signal.SIGTERM)
        self._scheduler_bins[index] = to
        self.start_scheduler(index, wait=wait)
        return f"{before} -> {to.scheduler_version}"

    def upgrade_replica(self, index: int, to: Binaries, part: Part = "both", wait: bool = True) -> str:
        """Restart a replica with ``to``'s daprd (``part`` both: the pod is replaced, app too; daprd: only the
        sidecar): one step of a rolling upgrade. Returns "<old> -> <new>" daprd versions."""
        self._replica(index)
        if part == "app":
            raise InputError("an upgrade switches daprd: part must be daprd or both, not app")
        before = self.daprd_binaries(index).daprd_version
        self._daprd_bins[index] = to
        self.restart_replica(index, part, wait=wait)
        return f"{before} -> {to.daprd_version}"

    def scheduler_binaries(self, index: int) -> Binaries:
        return self._scheduler_bins.get(index, self.binaries)

    def daprd_binaries(self, index: int) -> Binaries:
        return self._daprd_bins.get(index, self.binaries)

    def versions(self) -> dict[str, str]:
        """The Dapr version each live member runs now: ``scheduler-<i>`` and ``daprd-<i>``."""
        found = {m.name: self.scheduler_binaries(m.index).scheduler_version for m in self._live_schedulers()}
        found |= {r.daprd_name: self.daprd_binaries(r.index).daprd_version for r in self.replicas.values()}
        return found

    # --- internals -----------------------------------------------------------------------------------------

    def _names(self, index: int, part: Part) -> list[str]:
        member = self._replica(index)
        if part not in PARTS:
            raise InputError(f"unknown replica part {part!r}; valid: {', '.join(PARTS)}")
        return {"app": [member.app_name], "daprd": [member.daprd_name]}.get(part, [member.app_name, member.daprd_name])

    def _replica(self, index: int) -> ReplicaMember:
        try:
            return self.replicas[index]
        except KeyError:
            raise InputError(f"no replica {index}; running: {sorted(self.replicas)}") from None

    def _scheduler(self, index: int) -> SchedulerMember:
        if not 0 <= index < len(self.schedulers):
            raise InputError(f"no scheduler {index}; members: 0..{len(self.schedulers) - 1}")
        return self.schedulers[index]

    def _live_schedulers(self) -> list[SchedulerMember]:
        return [m for m in self.schedulers if m.index not in self._stopped_schedulers]

    def _job_streams(self) -> int:
        return 3  # daprd's --scheduler-job-streams default (v1.18.3:cmd/daprd/options/options.go), not overridden

    @property
    def _config_path(self) -> Path:
        return self.run_dir / "dapr" / "config.yaml"

    @property
    def _resources_path(self) -> Path:
        return self.run_dir / "dapr" / "resources"

    @property
    def journal_dir(self) -> Path:
        return self.run_dir / "journal"

    def _write_dapr_files(self) -> None:
        self._resources_path.mkdir(parents=True, exist_ok=True)
        self._config_path.write_text(DAPR_CONFIG)
        for file_name, text in self._resources.items():
            (self._resources_path / file_name).write_text(text)

    def _start_redis(self) -> None:
        self._progress("starting redis-server")
        self.redis.directory.mkdir(parents=True, exist_ok=True)
        self.redis.config_path.touch(mode=0o600)
        self.redis.config_path.write_text(self.redis.config())
        self.supervisor.start(self.redis.name, self.redis.argv(self.redis_server), env=_base_env())
        client = self.redis_client()
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.RedisError as exc:
                if not self.supervisor.get(self.redis.name).alive() or time.monotonic() > deadline:
                    raise ClusterError(
                        f"redis-server did not answer PING ({exc}).\nLast lines of its log:\n"
                        f"{self.supervisor.log_tail(self.redis.name)}"
                    ) from exc
                time.sleep(0.05)
            finally:
                client.close()

    def _start_proxy(self, proxy: FaultProxyMember) -> None:
        assert self._toxiproxy is not None
        self._progress("starting the fault proxy (toxiproxy-server)")
        self.supervisor.start(proxy.name, proxy.argv(self._toxiproxy), env=_base_env())
        client = ToxiproxyClient(self._http, proxy.api)
        try:
            client.wait_up(15.0, alive=self.supervisor.get(proxy.name).alive)
        except ClusterError as exc:
            raise ClusterError(f"{exc}.\nLast lines of its log:\n{self.supervisor.log_tail(proxy.name)}") from None
        for member in self.schedulers:
            client.create_link(proxy.link(member.index), proxy.address(member.index), member.address)

    def _start_scheduler(self, member: SchedulerMember) -> None:
        member.data_dir.mkdir(parents=True, exist_ok=True)
        initial = ",".join(m.peer_url for m in self.schedulers)
        broadcast = None if self.proxy is None else self.proxy.address(member.index)
        bins = self.scheduler_binaries(member.index)
        argv = member.argv(bins.scheduler, initial, self.spec.log_level, bins.scheduler_version, broadcast)
        env = {**_base_env(), "NAMESPACE": "default", "DAPR_HOST_IP": "127.0.0.1"}
        self.supervisor.start(member.name, argv, env)

    def _add_replica(self) -> ReplicaMember:
        member = ReplicaMember.allocate(self._next_index, self.ports)
        self._next_index += 1
        self.replicas[member.index] = member
        if self.spec.user_app is not None:
            byo.start_hop(self, member, _base_env(), self._python)
        self._start_app(member)
        self._start_daprd(member)
        return member

    def _start_app(self, member: ReplicaMember) -> None:
        if self.spec.user_app is not None:
            return byo.start_app(self, member, self.spec.user_app, _base_env())
        env = {
            **_base_env(),
            **self._app_env,
            "ONCEONLY_REPLICA": str(member.index),
            "ONCEONLY_APP_TOKEN": self.tokens.app_api,
            "ONCEONLY_RUN_ID": self.run_id,
            "ONCEONLY_REDIS_PORT": str(self.redis.port),
            "ONCEONLY_REDIS_PASSWORD": self.tokens.redis,
            "ONCEONLY_JOURNAL": str(self.journal_dir / f"{member.app_name}.jsonl"),
            "PYTHONUNBUFFERED": "1",
        }
        self.supervisor.start(member.app_name, member.app_argv(self._python), env, cwd=self.run_dir)

    def _start_daprd(self, member: ReplicaMember) -> None:
        argv = member.daprd_argv(
            self.daprd_binaries(member.index).daprd,
            self.spec.app_id,
            self.scheduler_addresses,
            self._config_path,
            self._resources_path,
            self.spec.log_level,
        )
        env = {
            **_base_env(),
            "DAPR_API_TOKEN": self.tokens.dapr_api,
            "APP_API_TOKEN": self.tokens.app_api,
            "DAPR_HOST_IP": "127.0.0.1",
            "NAMESPACE": "default",
            # the cron binding computes ticks in daprd's local zone; the checker's tick model is UTC
            "TZ": "UTC",
        }
        self.supervisor.start(member.daprd_name, argv, env)

    def ports_in_use(self) -> list[int]:
        return [p for p in sorted(self.ports.taken) if is_listening(p)]


def _base_env() -> dict[str, str]:
    """A small, explicit environment for children: no inherited proxies or Dapr settings leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k in keep}


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not in the main thread: leave handlers alone
            previous[sig] = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
