"""The words and examples of the scenario reference (``harness.scenario.reference``) that are not in the schema: its
introduction, and one YAML example per section. Each example, laid over ``BASE``, is a valid scenario
(tests/unit/test_scenario_reference.py loads every one)."""

from __future__ import annotations

from typing import Any

INTRO = """
A scenario is one YAML file: the cluster to start, what fires (Jobs API jobs, cron bindings), how long onceonly
watches, what it does meanwhile (faults, job calls, load) and how each source is judged. `name`, `cluster`,
`sources` and `observe` are required; every other section has defaults. A key the format does not know is refused,
with the nearest valid one; `null` means the default.

- Check a file without starting anything: `onceonly validate FILE`.
- Change a field from the command line: `--set cluster.replicas=5`, `--set faults.0.at=12s` (a list entry by its
  index); every `run`, `load`, `validate` and suite case takes it.
- Durations are Go-style (`60s`, `500ms`, `1m30s`) or a number of seconds; `1m` and `60s` are the same scenario
  (same hash).
- Schedules, `due_time` and `ttl` go to Dapr as written; onceonly checks them with the parser its oracle uses, so a
  scenario that validates is one it can judge.

Below, each section's fields by their path (`sources.jobs[].name` is the `name` of each entry of the list
`sources.jobs`), the type in words, the default, and what it means; then an example.
"""

# What every example is laid over: the smallest valid scenario.
BASE: dict[str, Any] = {
    "name": "example",
    "cluster": {"replicas": 3},
    "sources": {"jobs": [{"name": "tick-job", "schedule": "@every 1s"}]},
    "observe": {"duration": "60s"},
}

EXAMPLES: dict[str, str] = {
    "top level": """
name: jobs-vs-cron
description: "A Jobs API job and a cron binding on the same schedule, on 3 replicas"
seed: 7
cluster: {replicas: 3}
sources:
  jobs:
    - {name: tick-job, schedule: "@every 1s"}
  bindings:
    - {name: tick-cron, schedule: "*/1 * * * * *"}
observe: {duration: 60s, quiesce: 5s}
expect: {jobs: exactly-once, bindings: contract}
""",
    "dapr": """
dapr:
  version: 1.16.0        # the run starts on 1.16.0 ...
  upgrade_to: 1.18.2     # ... and its upgrade faults switch members to 1.18.2, one at a time
faults:
  - {at: 10s, kind: scheduler-upgrade, target: 0}
  - {at: 20s, kind: upgrade, target: 0}
  - {at: 30s, kind: upgrade, target: 1}
  - {at: 40s, kind: upgrade, target: 2}
""",
    "cluster": """
cluster: {replicas: 3, schedulers: 3}   # an HA scheduler: scheduler faults pick one of 3 members
""",
    "sources": """
sources:
  jobs:
    - {name: tick-job, schedule: "@every 1s"}
    - {name: once, due_time: 10s}                            # fires once, 10 s after it is created
    - name: three-times
      schedule: "*/2 * * * * *"
      repeats: 3
      failure_policy: {constant: {interval: 500ms, max_retries: 2}}
    - {name: tick-fan, fanout: {every: 1s, count: 50}}      # tick-fan-000 ... tick-fan-049, due 1 s ... 50 s
  bindings:
    - {name: tick-cron, schedule: "*/1 * * * * *"}           # every replica fires it every second
""",
    "app": """
app:
  delay_ms: 1500                 # each delivery spends 1.5 s in the handler
  fail_first: 1                  # the first delivery of each source is answered 500: Dapr retries it
  bodies:
    tick-job: {status: RETRY}    # the app asks Dapr to retry every tick-job delivery
""",
    "observe": """
observe: {duration: 60s, quiesce: 5s}
""",
    "expect": """
expect: {jobs: exactly-once, bindings: contract, lateness_p99_ms: 250}
""",
    "workload": """
workload:
  load:
    stages:
      - {duration: 10s, users: 10, spawn_rate: 5}
      - {duration: 30s, users: 20}
    due_in: 5s
    mix: {one_shot: 10, recurring: 2, overwrite: 1, get: 1, delete: 1}
""",
    "faults": """
faults:
  - at: 10s                                   # kill the daprd of a replica busy with a tick-job delivery
    kind: kill
    target: busy
    busy: {source: jobs, name: tick-job}
    part: daprd
    heal_after: 5s                            # and start it again 5 s later
  - {at: 25s, kind: network-blackhole, target: all, direction: to-scheduler, heal_after: 10s}
  - {at: 45s, kind: scale, replicas: 5}
""",
    "actions": """
actions:
  - {at: 5s, op: schedule, job: tick-job, schedule: "@every 3s", expect_status: 409}   # no overwrite: refused
  - {at: 20s, op: get, job: tick-job, expect_status: 200}
  - {at: 30s, op: delete, job: tick-job, expect_status: 204}
""",
}
