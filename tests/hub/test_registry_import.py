"""The bulk registry import (`hub.store.registry_import`, the hub's child process): it writes
what `load_site` + `import_registry` write, on SQLite and PostgreSQL; an invalid folder writes
nothing, and the error names the file `load_site` names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hub import app, import_child
from hub.settings import HubSettings
from hub.store import Store
from hub.store.registry import ImportMark, fingerprint, import_registry
from hub.store.registry_import import INVALID, NOT_ASKED, PARSED
from hub.store.schema import DeviceRow, SiteRow
from protocol.errors import ConfigError
from protocol.site_config import load_site
from tests.hub.receiver import write_site


def import_in_child(
    store_url: str, folder: Path, mark: Path, parsing: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the import process as the hub does: given `parsing`, it parses that folder before
    the request comes (with the default chunks); else after, two device files per task."""
    request = {
        "store": store_url,
        "folder": str(folder),
        "mark": str(mark),
        "fingerprint": fingerprint(folder),
        "chunk": 2,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run(
        [sys.executable, "-m", "hub.store.registry_import", *([str(parsing)] if parsing else [])],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def rows(store: Store, model: Any) -> int:
    """Return how many rows `model`'s table holds."""
    with store.session() as s:
        return len(s.query(model).all())


def test_bulk_import_writes_what_import_registry_writes(
    tmp_path: Path, site_id: str, store_url: str
) -> None:
    folder = write_site(tmp_path, site_id)
    store = Store(store_url)
    store.migrate()
    try:
        mark = tmp_path / "registry-import.json"
        done = import_in_child(store_url, folder, mark)
        assert done.returncode == 0, done.stderr
        with store.session(write=True) as s:  # the in-process import finds nothing to change
            written = import_registry(s, load_site(folder))
        assert set(written.values()) == {0}, written
        assert rows(store, DeviceRow) == 7
        known = ImportMark(mark).read(fingerprint(folder), store_url)
        assert known is not None
        assert (known[0].site, known[1]) == (site_id, 7)
        if store.engine.dialect.name == "postgresql":  # the planner got fresh statistics
            with store.engine.connect() as conn:
                analysed = conn.execute(
                    text(
                        "SELECT last_analyze FROM pg_stat_user_tables "
                        "WHERE relname = 'devices' AND schemaname = current_schema()"
                    )
                ).scalar()
            assert analysed is not None
    finally:
        store.close()


def test_a_parse_begun_early_serves_only_its_own_folder(tmp_path: Path, site_id: str) -> None:
    """The import process parses the folder it was started with while the hub decides; a
    request for another folder imports that one; stdin closed unasked is exit 3, no writes."""
    asked = write_site(tmp_path / "asked", site_id)
    other = write_site(tmp_path / "other", "other-site")
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    store.migrate()
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        unasked = subprocess.run(
            [sys.executable, "-m", "hub.store.registry_import", str(asked)],
            input="",
            capture_output=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert unasked.returncode == NOT_ASKED, unasked.stderr
        assert rows(store, SiteRow) == 0
        done = import_in_child(url, asked, tmp_path / "mark.json", parsing=other)
        assert done.returncode == 0, done.stderr
        with store.session() as s:
            assert {r.id for r in s.query(SiteRow)} == {site_id}
        assert rows(store, DeviceRow) == 7
    finally:
        store.close()


def break_file(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` in a file (which must contain it)."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def expect_same_error(folder: Path, url: str, tmp_path: Path, store: Store, name: str) -> None:
    """The child process fails with the `ConfigError` of `load_site`, which names `name`,
    whether it parsed the folder before the request or after."""
    with pytest.raises(ConfigError) as expected:
        load_site(folder)
    assert expected.value.path == str(folder / "devices" / f"{name}.yaml")
    for parsing in (None, folder):
        done = import_in_child(url, folder, tmp_path / "mark.json", parsing)
        assert done.returncode == INVALID, done.stderr
        said = PARSED.decode() if parsing else ""  # parsed, before the request was read
        assert done.stdout.startswith(said)
        assert json.loads(done.stdout.removeprefix(said)) == {
            "path": expected.value.path,
            "problems": expected.value.problems,
        }
        assert rows(store, SiteRow) == 0  # rolled back: not even site.yaml's tables


def test_an_invalid_folder_writes_nothing_and_names_the_file(tmp_path: Path, site_id: str) -> None:
    folder = write_site(tmp_path, site_id)
    devices = folder / "devices"
    break_file(devices / "home-b1-101.yaml", "grid: grid-1", "grid: grid-2")
    break_file(devices / "stair-b3.yaml", "device: stair-b3", "device: [stair-b3")
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    store.migrate()
    try:
        expect_same_error(folder, url, tmp_path, store, "stair-b3")  # that does not parse
        break_file(devices / "stair-b3.yaml", "device: [stair-b3", "device: stair-b3")
        expect_same_error(folder, url, tmp_path, store, "home-b1-101")  # that does not fit
        assert not (tmp_path / "mark.json").exists()
    finally:
        store.close()


async def test_the_hub_reports_the_child_process_config_error(
    tmp_path: Path, site_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_child, "CHILD_IMPORT_FILES", 0)
    folder = write_site(tmp_path, site_id)
    bad = folder / "devices" / "stair-b2.yaml"
    break_file(bad, "building: b2", "building: b9")
    settings = HubSettings(
        store=f"sqlite:///{tmp_path / 'hub.db'}", registry=folder, state_dir=str(tmp_path)
    )
    with pytest.raises(ConfigError) as raised:
        await app._prepare_store(settings)
    assert raised.value.path == str(bad)
    assert raised.value.problems == ["building: 'b9' is not in site.yaml buildings"]
