"""Upload the generated dashboards to a running Grafana through its HTTP API.

UNTESTED: no Grafana server can run where this was written. Provisioning from files
(`provisioning/`) is the tested, preferred way; this is for a Grafana you cannot mount files
into. Usage, from the repository root:

    WATCHPOST_GRAFANA_TOKEN=… python -m dashboards.push http://127.0.0.1:3000

The token is a Grafana service-account token with the Editor role; it is read from the
environment, never from the command line. httpx (already a hub dependency) is enough for the
two endpoints used, so grafana-client is not needed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

DASHBOARD_DIR = Path(__file__).resolve().parent / "watchpost"
FOLDER_UID = "watchpost"
FOLDER_TITLE = "Watchpost 社区应急"


def push(url: str, token: str, folder_uid: str = FOLDER_UID) -> list[str]:
    """Create the folder if missing and upload every dashboard; return their Grafana URLs."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=10) as client:
        if client.get(f"/api/folders/{folder_uid}").status_code == 404:
            client.post(
                "/api/folders", json={"uid": folder_uid, "title": FOLDER_TITLE}
            ).raise_for_status()
        urls = []
        for path in sorted(DASHBOARD_DIR.glob("*.json")):
            dashboard = json.loads(path.read_text(encoding="utf-8"))
            dashboard["id"] = None  # Grafana matches on uid
            resp = client.post(
                "/api/dashboards/db",
                json={
                    "dashboard": dashboard,
                    "folderUid": folder_uid,
                    "overwrite": True,
                    "message": "watchpost: dashboards/push.py",
                },
            )
            resp.raise_for_status()
            urls.append(f"{url.rstrip('/')}{resp.json().get('url', '')}")
        return urls


def main(argv: list[str]) -> int:
    """Push to the Grafana at argv[0] with the token in WATCHPOST_GRAFANA_TOKEN."""
    token = os.environ.get("WATCHPOST_GRAFANA_TOKEN")
    if len(argv) != 1 or not token:
        sys.stderr.write("usage: WATCHPOST_GRAFANA_TOKEN=… python -m dashboards.push GRAFANA_URL\n")
        return 2
    for url in push(argv[0], token):
        sys.stdout.write(f"{url}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
