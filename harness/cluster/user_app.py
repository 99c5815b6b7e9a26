"""A user's own app as a backend runs it (``ClusterSpec.user_app``): its command, directory, environment and
readiness path, as data. Where it comes from is the scenario's ``app.command`` (``harness.scenario.user_app``);
how the local backend starts it beside a hop and a daprd is ``harness.cluster.local.byo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputError
from harness.scenario.schema import Scenario
from harness.scenario.user_app import command_argv

# Where the hop lists the deliveries in flight (hop.deliveries.HEALTH_PATH; hop is its own process, not imported)
HOP_INFLIGHT_PATH = "/.onceonly/healthz"


@dataclass(frozen=True, slots=True)
class UserApp:
    command: str
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    health: str | None = None  # a path answering 2xx when ready; None: its port accepting connections

    def argv(self, app_port: int) -> list[str]:
        return command_argv(self.command, app_port)

    def check(self) -> None:
        """Refuse (``InputError``, nothing started) a directory that is not there."""
        if not self.cwd.is_dir():
            raise InputError(
                f"app.cwd {str(self.cwd)!r} is not a directory: give your app's directory (relative to the "
                "scenario file), or leave app.cwd out to run it in the scenario file's directory"
            )


def user_app_of(scenario: Scenario) -> UserApp | None:
    """The scenario's own app (``app.command``), or None for the recorder app."""
    app = scenario.app
    if app.command is None:
        return None
    return UserApp(app.command, Path(app.cwd or "."), dict(app.env), app.health)
