"""The hub's first steps, before it loads its own modules: the store migrated, the registry
imported if it changed.

`watchpost hub` begins these (`Preparation.begin`) as soon as its settings are read: the
store is migrated, the registry folder fingerprinted and, if the store does not hold that
registry, the import process (`hub.import_child`, parsing since the CLI started it) gets its
request. Once that process has parsed (`parsed`) the hub loads FastAPI, the engine and the
rest (seconds here) while it writes; `finish` waits for it. A registry of at most
`CHILD_IMPORT_FILES` device files is parsed and imported here instead, in `finish`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from hub.import_child import ImportChild, is_large, mark_path
from hub.settings import HubSettings
from hub.store import Store
from hub.store.registry import ImportMark, fingerprint
from hub.store.registry_import import INVALID
from hub.store.schema import DeviceRow
from protocol.errors import ConfigError
from protocol.site_config import Registry, SiteConfig, load_site

log = logging.getLogger(__name__)


@dataclass
class Preparation:
    """The store, migrated, and the registry's import under way (or not needed)."""

    settings: HubSettings
    store: Store
    folder_fp: str | None
    """The registry folder's fingerprint (None: the hub has no registry)."""
    child: ImportChild | None
    """The import process asked to import the registry, if one was."""
    known: SiteConfig | None = None
    """The site, when the store was found to hold this registry already (`imported`)."""

    @classmethod
    def begin(cls, settings: HubSettings, child: ImportChild | None = None) -> Preparation:
        """Migrate the store; if the registry changed, send `child` (or a new import process)
        its request. `child`, an import process started early, is stopped if not needed."""
        store = Store(settings.store)
        folder = settings.registry
        if folder is None:
            store.migrate()
            _stop(child)
            return cls(settings, store, None, None)
        folder_fp = fingerprint(folder)
        # Parsing 100,000 device files builds millions of objects that a process does not
        # give back: a child process parses and imports them, then this one finds its mark.
        large = child is not None or is_large(folder)  # started early: counted already
        marked = ImportMark(mark_path(settings)).read(folder_fp, settings.store) is not None
        # Started before the migration, the child loads its modules and parses meanwhile.
        if child is None and large and not marked:
            child = ImportChild.start(folder)
        store.migrate()
        known = imported(settings, folder_fp, store) if large and marked else None
        if large and known is None:
            child = child or ImportChild.start(folder)
            if child is not None:
                child.send(_request(settings, folder, folder_fp))
                log.info("registry changed: its import asked of process %d", child.proc.pid)
                return cls(settings, store, folder_fp, child)
        _stop(child)
        return cls(settings, store, folder_fp, None, known)

    def parsed(self) -> None:
        """Wait until the import process asked has parsed the registry: it then only writes
        (one core), and the hub loads its modules on the other instead of competing with
        the parsers for both."""
        if self.child is not None:
            self.child.parsed()

    def finish(self) -> Registry | None:
        """Wait for the import process, if one was asked; return the registry (without its
        devices when the store holds them already). Raise `ConfigError` if it is invalid."""
        folder = self.settings.registry
        if folder is None:
            return None
        if self.child is not None:
            code, out = self.child.result()
            if code == INVALID:
                doc = json.loads(out)
                raise ConfigError(doc["path"], doc["problems"])
            if code != 0:
                log.warning("registry import process failed (exit %s); importing here", code)
        return import_registry(self.settings, folder, self.store, self.folder_fp, self.known)

    def stop(self) -> None:
        """Stop the import process if it is still running (the hub is stopping)."""
        _stop(self.child)


def _stop(child: ImportChild | None) -> None:
    if child is not None:
        child.stop()


def _request(settings: HubSettings, folder: Path, folder_fp: str) -> dict[str, str]:
    return {
        "store": settings.store,
        "folder": str(folder),
        "mark": str(mark_path(settings)),
        "fingerprint": folder_fp,
        "log_level": settings.log_level,
    }


def imported(settings: HubSettings, folder_fp: str, store: Store) -> SiteConfig | None:
    """Return the site summary if this store holds exactly the registry `folder_fp` names."""
    known = ImportMark(mark_path(settings)).read(folder_fp, settings.store)
    if known is None:
        return None
    site, devices = known
    with store.session() as s:
        query = select(func.count()).select_from(DeviceRow).where(DeviceRow.site == site.site)
        in_store = int(s.execute(query).scalar_one())
    return site if in_store == devices else None


def import_registry(
    settings: HubSettings,
    folder: Path,
    store: Store,
    folder_fp: str | None = None,
    known: SiteConfig | None = None,
) -> Registry:
    """Import the site folder in bulk, unless this store already holds exactly this registry.

    Then no file is parsed: the import mark gives the site's grids and workers (what routes
    pages), `StoreDirectory.load()` the devices, and the store everything else; the registry
    returned has no devices, households or residents. `folder_fp`: the folder's fingerprint
    if already taken; `known`: the site if `imported` found it already.
    """
    started = time.monotonic()
    folder_fp = folder_fp or fingerprint(folder)
    site = known or imported(settings, folder_fp, store)
    if site is not None:
        log.info(
            "registry of site %s unchanged since its import: no file re-read (%.1f s)",
            site.site,
            time.monotonic() - started,
        )
        return Registry(site=site, devices=[])
    registry = load_site(folder)
    parsed = time.monotonic()
    store.import_registry(registry)
    ImportMark(mark_path(settings)).write(
        folder_fp, settings.store, registry.site, len(registry.devices)
    )
    log.info(
        "imported registry of site %s: %d devices, read in %.1f s, imported in %.1f s",
        registry.site.site,
        len(registry.devices),
        parsed - started,
        time.monotonic() - parsed,
    )
    return registry
