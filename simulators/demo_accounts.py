"""Logins for the demo's pages: a duty officer for the board and a grid worker for the phone.

The accounts are made with `watchpost users add` against the hub's own store (the hub has
migrated it and imported the registry by the time /healthz answers), with fresh passwords that
are printed once, so a person can open the board while the demo runs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass

from protocol.site_config import Registry
from simulators.hubproc import HubProcess


@dataclass(frozen=True, slots=True)
class Login:
    """One page login the demo made."""

    username: str
    password: str
    role: str
    page: str
    """Path of the page this account is for (`/board` or `/worker`)."""


def demo_logins(hub: HubProcess, registry: Registry) -> list[Login]:
    """Create the duty officer's and grid-1's worker's accounts; return their logins."""
    store = hub.store_url or f"sqlite:///{hub.workdir / 'hub.db'}"
    site = registry.site.site
    wanted: list[tuple[str, str, str, str]] = []
    for worker in registry.site.workers:
        if worker.role == "duty_officer" and not any(w[1] == "duty_officer" for w in wanted):
            wanted.append(("duty", "duty_officer", worker.id, "/board"))
        if worker.role == "grid_worker" and "grid-1" in worker.grids:
            wanted.append(("grid1", "grid_worker", worker.id, "/worker"))
    logins = []
    for username, role, worker_id, page in wanted:
        password = secrets.token_urlsafe(9)
        cmd = [
            sys.executable, "-m", "watchpost_cli", "users", "add", username, "--role", role,
            "--site", site, "--worker", worker_id, "--store", store,
            "--password-env", "WATCHPOST_DEMO_PASSWORD",
        ]  # fmt: skip
        env = {**os.environ, "WATCHPOST_DEMO_PASSWORD": password}
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=60)
        logins.append(Login(username, password, role, page))
    return logins
