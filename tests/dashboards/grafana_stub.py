"""A local HTTP server answering the few Grafana endpoints `dashboards push` calls.

NOT a real Grafana (none can be installed here): it keeps folders, dashboards and rule groups
in memory the way Grafana's HTTP API returns them, checks the bearer token, and records every
request it got so a test can assert what was written.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    """One request the stub received."""

    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class GrafanaState:
    """What the stub holds, and every request it got."""

    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writes(self) -> list[tuple[str, str]]:
        """Return (method, path) of every request that was not a GET."""
        return [(r.method, r.path) for r in self.requests if r.method != "GET"]


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the test reads `state.requests`."""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        auth = self.headers.get("Authorization", "")
        with self.state.lock:
            self.state.requests.append(Request(self.command, self.path, auth, body))
            if auth != f"Bearer {self.state.token}":
                self._answer(401, {"message": "Unauthorized"})
                return
            status, answer = self._route(self.command, self.path, body)
        self._answer(status, answer)

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        s = self.state
        if m := re.fullmatch(r"/api/folders/([\w-]+)", path):
            folder = s.folders.get(m.group(1))
            if method == "GET":
                return (200, folder) if folder else (404, {"message": "folder not found"})
            if method == "PUT" and folder:
                folder.update(title=body["title"], version=folder["version"] + 1)
                return 200, folder
        if path == "/api/folders" and method == "POST":
            if body["uid"] in s.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            s.folders[body["uid"]] = {"id": len(s.folders) + 1, "version": 1, **body}
            return 200, s.folders[body["uid"]]
        if m := re.fullmatch(r"/api/dashboards/uid/([\w-]+)", path):
            found = s.dashboards.get(m.group(1))
            return (200, found) if found else (404, {"message": "Dashboard not found"})
        if path == "/api/dashboards/db" and method == "POST":
            return self._save_dashboard(body)
        if m := re.fullmatch(r"/api/v1/provisioning/folder/([\w-]+)/rule-groups/([\w-]+)", path):
            key = (m.group(1), m.group(2))
            if method == "GET":
                group = s.rule_groups.get(key)
                return (200, group) if group else (404, {"message": "rule group not found"})
            if method == "PUT":
                if key[0] not in s.folders:
                    return 400, {"message": "folder does not exist"}
                s.rule_groups[key] = body
                return 200, body
        return 404, {"message": f"the stub does not implement {method} {path}"}

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        s, board = self.state, dict(body["dashboard"])
        if body["folderUid"] not in s.folders:
            return 400, {"message": "folder not found"}
        old = s.dashboards.get(board["uid"])
        if old and not body.get("overwrite"):
            return 412, {"message": "The dashboard has been changed by someone else"}
        version = old["dashboard"]["version"] + 1 if old else 1
        board.update(id=old["dashboard"]["id"] if old else len(s.dashboards) + 1, version=version)
        meta = {"folderUid": body["folderUid"], "url": f"/d/{board['uid']}/x"}
        s.dashboards[board["uid"]] = {"dashboard": board, "meta": meta}
        return 200, {"status": "success", "uid": board["uid"], "version": version, **meta}

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815


@contextmanager
def grafana_stub(token: str) -> Iterator[tuple[str, GrafanaState]]:
    """Serve the stub on a free loopback port; yield its URL and state; stop it after."""
    state = GrafanaState(token)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="grafana-stub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
