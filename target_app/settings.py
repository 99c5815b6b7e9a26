"""The target app's settings, read from the environment once at start-up (the only place it reads env).

The cluster backend sets these for every replica:

- ``ONCEONLY_REPLICA``: the replica index, stamped on every delivery (required);
- ``ONCEONLY_APP_TOKEN``: the ``APP_API_TOKEN`` its daprd sends as ``dapr-api-token``; when set, a delivery
  without it is refused with 401.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    replica: int
    app_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = env.get("ONCEONLY_REPLICA")
        if raw is None:
            raise SettingsError("ONCEONLY_REPLICA is missing, and has no default (the replica index, e.g. 0)")
        try:
            replica = int(raw)
        except ValueError:
            raise SettingsError(f"ONCEONLY_REPLICA has value {raw!r}, not an integer") from None
        return cls(replica=replica, app_token=env.get("ONCEONLY_APP_TOKEN") or None)
