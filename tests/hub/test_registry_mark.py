"""Start-up on an unchanged registry: no file is re-read when this store already holds exactly
this registry; any change to the folder, another store, or a store that lost its
devices means a full import again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete

from hub import app, import_child
from hub.registry_start import import_registry
from hub.settings import HubSettings
from hub.store import Store
from hub.store.registry_import import NOT_ASKED
from hub.store.schema import DeviceRow
from protocol.errors import ConfigError
from tests.hub.receiver import write_site


def settings(tmp_path: Path, store_url: str, folder: Path) -> HubSettings:
    """Return hub settings with the state files in the test's own folder."""
    return HubSettings(store=store_url, registry=folder, state_dir=str(tmp_path / "state"))


def test_unchanged_registry_is_not_read_again_and_a_change_is(tmp_path: Path, site_id: str) -> None:
    folder = write_site(tmp_path, site_id)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    store.migrate()
    try:
        first = import_registry(settings(tmp_path, url, folder), folder, store)
        assert len(first.devices) >= 3
        again = import_registry(settings(tmp_path, url, folder), folder, store)
        assert again.devices == []  # read from the store, not the files
        assert again.site.site == site_id
        assert again.site.workers == first.site.workers  # what routes pages is kept
        assert again.site.grids == first.site.grids
        assert again.site.residents == []  # people and places are in the store
        assert store.known_device(site_id, first.devices[0].device)

        device_file = next((folder / "devices").glob("*.yaml"))
        stat = device_file.stat()
        os.utime(device_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        assert import_registry(settings(tmp_path, url, folder), folder, store).devices

        with store.session(write=True) as s:  # a store that lost its devices (restored backup)
            s.execute(delete(DeviceRow).where(DeviceRow.site == site_id))
        assert import_registry(settings(tmp_path, url, folder), folder, store).devices
        assert store.known_device(site_id, first.devices[0].device)
    finally:
        store.close()


def test_another_store_gets_a_full_import(tmp_path: Path, site_id: str) -> None:
    folder = write_site(tmp_path, site_id)
    for name in ("a.db", "b.db"):
        url = f"sqlite:///{tmp_path / name}"
        store = Store(url)
        store.migrate()
        try:
            assert import_registry(settings(tmp_path, url, folder), folder, store).devices
        finally:
            store.close()


async def test_a_large_registry_is_parsed_in_a_child_process(
    tmp_path: Path, site_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_child, "CHILD_IMPORT_FILES", 0)  # the sunflower copy counts as large
    folder = write_site(tmp_path, site_id)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store, registry = await app._prepare_store(settings(tmp_path, url, folder))
    try:
        assert registry is not None
        assert registry.devices == []  # this process found the child's import mark
        assert registry.site.workers
        assert store.known_device(site_id, "home-b1-101")
        with store.session(write=True) as s:  # the mark matches, the store does not
            s.execute(delete(DeviceRow).where(DeviceRow.site == site_id))
    finally:
        store.close()
    store, registry = await app._prepare_store(settings(tmp_path, url, folder))
    try:
        assert registry is not None
        assert registry.devices == []  # imported by a child process again
        assert store.known_device(site_id, "home-b1-101")
    finally:
        store.close()


async def test_an_import_process_started_early_imports_or_is_stopped(
    tmp_path: Path, site_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`watchpost hub` starts the import process before it loads its own modules: a changed
    registry is imported by that process; when nothing changed it is stopped, not left."""
    monkeypatch.setattr(import_child, "CHILD_IMPORT_FILES", 0)
    folder = write_site(tmp_path, site_id)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    for changed in (True, False):
        child = import_child.ImportChild.start(folder)
        assert child is not None
        store, registry = await app._prepare_store(settings(tmp_path, url, folder), child)
        try:
            assert registry is not None and registry.devices == []  # the mark, not a parse
            assert store.known_device(site_id, "home-b1-101")
            # imported: it exited 0; not needed: it stopped when its stdin closed unasked
            assert child.proc.returncode == (0 if changed else NOT_ASKED)
        finally:
            store.close()


def test_the_early_start_is_guessed_from_the_mark_and_the_folder(
    tmp_path: Path, site_id: str
) -> None:
    """The import process is started before the hub loads its modules only when the registry
    looks changed: no mark yet, or `site.yaml` or the devices folder newer than the mark."""
    folder = write_site(tmp_path, site_id)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub = settings(tmp_path, url, folder)
    assert import_child.looks_changed(hub)  # never imported
    store = Store(url)
    store.migrate()
    try:
        import_registry(hub, folder, store)
    finally:
        store.close()
    marked = import_child.mark_path(hub).stat().st_mtime_ns
    for path in (folder / "site.yaml", folder / "devices"):
        os.utime(path, ns=(marked - 10**9, marked - 10**9))
    assert not import_child.looks_changed(hub)
    for path in (folder / "site.yaml", folder / "devices"):  # edited, or a file added
        os.utime(path, ns=(marked + 10**9, marked + 10**9))
        assert import_child.looks_changed(hub)
        os.utime(path, ns=(marked - 10**9, marked - 10**9))


async def test_a_missing_site_yaml_is_a_config_error_naming_it(
    tmp_path: Path, site_id: str
) -> None:
    folder = write_site(tmp_path, site_id)
    (folder / "site.yaml").unlink()
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with pytest.raises(ConfigError) as raised:
        await app._prepare_store(settings(tmp_path, url, folder))
    assert raised.value.path == str(folder / "site.yaml")
