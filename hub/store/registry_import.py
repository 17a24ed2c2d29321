"""Import a changed registry folder into the store in bulk, in a process of its own.

A hub whose registry changed (or whose store is new) runs `python -m hub.store.registry_import`
and waits for it: parsing 100,000 device files builds millions of objects that a process does
not give back, so the hub's own RSS stays that of a restart. The request comes as one JSON
object on stdin (`store`, `folder`, `mark`, `fingerprint`, `log_level`, optionally `chunk`):
the store URL may hold a password, so not on the command line. Exit 0: imported and
`ImportMark` written; exit 2: the registry is invalid, stdout is `{"path": ...,
"problems": [...]}` (a `ConfigError`); anything else: failed (traceback on stderr).

How (`import_folder`): a pool of forked parsers takes the device files in chunks of `CHUNK`,
in name order, and sends back per chunk the rows (`DeviceTuple`) up to the first invalid file
and that file's error. Meanwhile this process parses `site.yaml`, opens the one write
transaction and writes the site's tables; then it cross-checks the device rows and writes them
chunk by chunk as they come back. Any error rolls the whole import back; which error is raised
is the one `load_site` would raise (site.yaml, then the first file that does not parse or
validate, then the first that does not fit the site).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hub.store.registry import DeviceSync, DeviceTuple, ImportMark, device_ref, device_tuple
from hub.store.registry import import_site as import_site_rows
from hub.store.store import Store
from protocol.config_file import load_model
from protocol.device_config import load_device_config
from protocol.errors import ConfigError
from protocol.site_config import SiteConfig, SiteIndex, device_paths, gc_paused

log = logging.getLogger(__name__)

CHUNK = 500
"""Device files per task of a parser: small enough to keep both cores busy to the end."""
INVALID = 2
"""Exit code of `main` for an invalid registry."""
PARSER_NICE = 2
"""Niceness added to the parser processes."""

ChunkResult = tuple[list[DeviceTuple], tuple[str, list[str]] | None]


def parse_devices(paths: list[str]) -> ChunkResult:
    """Parse and validate device files; return their rows up to the first invalid one, and
    that one's error as (path, problems) (a `ConfigError` does not survive pickling)."""
    rows: list[DeviceTuple] = []
    with gc_paused():
        for path in paths:
            try:
                rows.append(device_tuple(load_device_config(path)))
            except ConfigError as exc:
                return rows, (exc.path, exc.problems)
    return rows, None


def parser_count() -> int:
    """Return how many parser processes to fork: one per usable core, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@contextmanager
def _parsed(chunks: list[list[str]], workers: int) -> Iterator[Iterator[ChunkResult]]:
    """Yield the chunks' results in order, parsed by `workers` forked processes (0: here)."""
    if workers == 0 or "fork" not in multiprocessing.get_all_start_methods():
        yield map(parse_devices, chunks)
        return
    # Fork, not spawn: this process is single-threaded and has imported what they need. The
    # parsers run a little nicer: this process's chain (site.yaml, its tables, then the
    # devices) is the longest, and on a machine with as many parsers as cores it would
    # otherwise get a fraction of a core.
    fork = multiprocessing.get_context("fork")
    with fork.Pool(workers, initializer=os.nice, initargs=(PARSER_NICE,)) as pool:
        yield pool.imap(parse_devices, chunks)


def import_folder(
    store: Store, folder: Path, workers: int, chunk_size: int = CHUNK
) -> tuple[SiteConfig, int]:
    """Parse, check and import a registry folder in one transaction; return (site, devices).

    `workers` parser processes are forked for the device files (0: parse them here), which
    each take `chunk_size` files at a time.
    """
    started = time.monotonic()
    paths = device_paths(folder)
    chunks = [paths[i : i + chunk_size] for i in range(0, len(paths), chunk_size)]
    with _parsed(chunks, workers) as results, gc_paused():
        site = load_model(SiteConfig, folder / "site.yaml")
        index = SiteIndex.of(site)
        read = time.monotonic()
        with store.session(write=True) as session:
            import_site_rows(session, site)
            written = time.monotonic()
            devices = DeviceSync(session, site.site)
            mismatch: ConfigError | None = None
            for chunk, (rows, error) in zip(chunks, results, strict=True):
                if mismatch is None:
                    try:
                        for path, row in zip(chunk, rows, strict=False):
                            index.check(path, device_ref(row))
                    except ConfigError as exc:  # a file that does not parse still goes first
                        mismatch = exc
                    else:
                        devices.add(rows)
                if error is not None:
                    raise ConfigError(*error)
            if mismatch is not None:
                raise mismatch
            checked = time.monotonic()
    store.analyze_registry()
    log.info(
        "registry import: site.yaml read in %.1f s, its tables written in %.1f s, devices "
        "parsed, checked and written %.1f s later, committed in %.1f s",
        read - started,
        written - read,
        checked - written,
        time.monotonic() - checked,
    )
    return site, len(paths)


def run(request: dict[str, Any]) -> int:
    """Import as `request` says; return the exit code (see the module docstring)."""
    started = time.monotonic()
    store = Store(request["store"])
    try:
        folder = Path(request["folder"])
        site, devices = import_folder(
            store, folder, parser_count(), int(request.get("chunk", CHUNK))
        )
    except ConfigError as exc:
        json.dump({"path": exc.path, "problems": exc.problems}, sys.stdout)
        return INVALID
    finally:
        store.close()
    ImportMark(Path(request["mark"])).write(request["fingerprint"], request["store"], site, devices)
    log.info(
        "imported registry of site %s: %d devices in %.1f s (%d parser processes)",
        site.site,
        devices,
        time.monotonic() - started,
        parser_count(),
    )
    return 0


def main() -> int:
    """Read the request from stdin, import, return the exit code."""
    request = json.load(sys.stdin)
    logging.basicConfig(
        level=str(request.get("log_level", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(request)


if __name__ == "__main__":
    sys.exit(main())
