"""The rules of a scenario's own app (``app.command``): what is refused, and the command line as it will run.

A scenario runs either onceonly's recorder app (``app.delay_ms`` ... ``app.bodies``: how it answers) or the user's
own app, unmodified, behind the recording hop (``app.command``, ``cwd``, ``env``, ``health``). The two are one
section because the issue writes it so (``app: {command: ..., health: /health}``) and because a scenario has one
app; a field of the other kind is refused with a line that says why. Pure: the command is split here, not run
(``harness.cluster.local.byo`` runs it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.scenario.schema import AppSection

PORT_FIELD = "{app_port}"
# The recorder's own fields and their defaults: with a command they mean nothing, so a value is refused.
RECORDER_FIELDS: dict[str, object] = {
    "delay_ms": 0,
    "status": 200,
    "fail_first": 0,
    "side_effect": "both",
    "bodies": {},
}
# What onceonly gives the app itself (the hop's and daprd's ports, the tokens): the scenario may not set them.
RESERVED_ENV = ("DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "APP_PORT", "APP_ID", "DAPR_API_TOKEN", "APP_API_TOKEN")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def split_command(command: str) -> list[str]:
    """The command as argv, split as a POSIX shell would (no shell runs it). Raises ValueError."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("is empty: give the command that starts your app, e.g. 'uvicorn main:app --port {app_port}'")
    return argv


def command_argv(command: str, app_port: int) -> list[str]:
    """The command's argv for one replica: ``{app_port}`` replaced in every word."""
    return [word.replace(PORT_FIELD, str(app_port)) for word in split_command(command)]


def user_app_problems(app: AppSection) -> list[tuple[str, str]]:
    """Each (message, field below ``app``) that makes the section invalid; empty when it is valid."""
    own = {"cwd": app.cwd, "env": app.env or None, "health": app.health}
    if app.command is None:
        return [
            ("is only valid with app.command (your own app); without it the recorder app runs", field)
            for field, value in own.items()
            if value is not None
        ]
    problems: list[tuple[str, str]] = []
    try:
        split_command(app.command)
    except ValueError as exc:
        problems.append((f"{app.command!r} {exc}" if "empty" in str(exc) else f"cannot be split: {exc}", "command"))
    unknown = sorted(set(_PLACEHOLDER.findall(app.command)) - {PORT_FIELD})
    if unknown:
        problems.append((f"{', '.join(unknown)} is not known: the one placeholder is {PORT_FIELD}", "command"))
    for field, default in RECORDER_FIELDS.items():
        if getattr(app, field) != default:
            problems.append(
                (
                    "is the recorder app's behaviour; with app.command your own app answers as it does: remove it",
                    field,
                )
            )
    problems += _env_problems(app.env)
    if app.health is not None and not app.health.startswith("/"):
        problems.append((f"{app.health!r} is not a path: write it from the root, e.g. /health", "health"))
    return problems


def _env_problems(env: Mapping[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in env:
        if name in RESERVED_ENV or name.startswith("ONCEONLY_"):
            out.append(
                (
                    f"{name} is onceonly's to set (it points your app at the hop and daprd, and carries the "
                    "tokens): remove it",
                    f"env.{name}",
                )
            )
    return out
