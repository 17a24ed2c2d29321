"""Import a changed registry folder into the store in bulk, in a process of its own.

A hub whose registry changed (or whose store is new) runs `python -m hub.store.registry_import
FOLDER` and waits for it: parsing 100,000 device files builds millions of objects that a
process does not give back, so the hub's own RSS stays that of a restart. Given the folder,
the process parses and cross-checks it at once, before it is asked (the hub starts it first
thing, `hub.import_child`); the request comes as one JSON object on stdin (`store`, `folder`,
`mark`, `fingerprint`, `log_level`, optionally `chunk`): the store URL may hold a password, so
not on the command line. It writes `PARSED` on stdout once parsed; then only the writes are
left. Exit 0: imported and `ImportMark`
written; exit 2: the registry is invalid, stdout is `{"path": ..., "problems": [...]}` (a
`ConfigError`); exit 3: stdin closed without a request (the hub needed no import, the parse is
dropped); anything else: failed (traceback on stderr).

How (`parse_folder`, `write_parsed`): a pool of forked parsers takes the device files in
chunks of `CHUNK`, in name order, and sends back per chunk the rows (`DeviceTuple`) up to the
first invalid file and that file's error. Meanwhile this process parses `site.yaml` and builds
its rows, then cross-checks the device rows chunk by chunk as they come back. The writes are
one transaction. Any error writes nothing; which error is raised is the one `load_site` would
raise (site.yaml, then the first file that does not parse or validate, then the first that
does not fit the site).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.store.registry import (
    DeviceSync,
    DeviceTuple,
    ImportMark,
    SiteRows,
    device_ref,
    device_row,
    read_site,
)
from hub.store.registry import import_site as import_site_rows
from hub.store.store import Store
from protocol.errors import ConfigError
from protocol.site_config import SiteConfig, device_paths, gc_paused

log = logging.getLogger(__name__)

CHUNK = 500
"""Device files per task of a parser: small enough to keep both cores busy to the end."""
INVALID = 2
"""Exit code of `main` for an invalid registry."""
NOT_ASKED = 3
"""Exit code of `main` when stdin closed without a request: the hub needed no import."""
PARSER_NICE = 2
"""Niceness added to the parser processes."""
PARSED = b"parsed\n"
"""The line a process started with a folder writes on stdout once it has parsed it."""
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal a process gets when its parent dies."""

ChunkResult = tuple[list[DeviceTuple], tuple[str, list[str]] | None]


def parse_devices(paths: list[str]) -> ChunkResult:
    """Parse and validate device files; return their rows up to the first invalid one, and
    that one's error as (path, problems) (a `ConfigError` does not survive pickling)."""
    rows: list[DeviceTuple] = []
    with gc_paused():
        for path in paths:
            try:
                rows.append(device_row(path))
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


def _parser_started() -> None:
    """Run a little nicer, and die with this process: a parser outliving a killed import
    would wait forever for its next chunk."""
    os.nice(PARSER_NICE)
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


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
    with fork.Pool(workers, initializer=_parser_started) as pool:
        yield pool.imap(parse_devices, chunks)


@dataclass
class Parsed:
    """A registry folder parsed and cross-checked: what to write, or the error to raise."""

    folder: Path
    devices: int
    """Device files in the folder."""
    site: SiteConfig | None = None
    """The site, perhaps without its buildings, households and residents (`read_site`)."""
    site_rows: list[SiteRows] = field(default_factory=list)
    device_rows: list[list[DeviceTuple]] = field(default_factory=list)
    """Per chunk of files."""
    error: ConfigError | None = None
    seconds: float = 0.0


def parse_folder(
    folder: Path,
    workers: int,
    chunk_size: int = CHUNK,
    abandoned: Callable[[], bool] = lambda: False,
) -> Parsed | None:
    """Parse and cross-check a registry folder: the device files by `workers` forked parsers
    (0: here), `site.yaml` and its rows here meanwhile. None if `abandoned()` turned true
    (checked between chunks): the parsers are stopped."""
    started = time.monotonic()
    paths = device_paths(folder)
    chunks = [paths[i : i + chunk_size] for i in range(0, len(paths), chunk_size)]
    parsed = Parsed(folder, len(paths))
    with _parsed(chunks, workers) as results, gc_paused():
        try:
            parsed.site, parsed.site_rows, index = read_site(folder / "site.yaml")
        except ConfigError as exc:
            parsed.error = exc
            return parsed
        mismatch: ConfigError | None = None
        for chunk, (rows, error) in zip(chunks, results, strict=True):
            if abandoned():
                return None
            if mismatch is None:
                try:
                    for path, row in zip(chunk, rows, strict=False):
                        index.check(path, device_ref(row))
                except ConfigError as exc:  # a file that does not parse still goes first
                    mismatch = exc
                else:
                    parsed.device_rows.append(rows)
            if error is not None:
                parsed.error = ConfigError(*error)
                return parsed
        parsed.error = mismatch
    parsed.seconds = time.monotonic() - started
    return parsed


def write_parsed(store: Store, parsed: Parsed) -> SiteConfig:
    """Write what `parsed` holds in one transaction (or raise its error); return the site."""
    if parsed.error is not None:
        raise parsed.error
    assert parsed.site is not None
    started = time.monotonic()
    with gc_paused(), store.session(write=True) as session:
        import_site_rows(session, parsed.site, parsed.site_rows)
        written = time.monotonic()
        devices = DeviceSync(session, parsed.site.site)
        for rows in parsed.device_rows:
            devices.add(rows)
        checked = time.monotonic()
    store.analyze_registry()
    log.info(
        "registry import: parsed and checked in %.1f s; site tables written in %.1f s, "
        "devices in %.1f s, committed in %.1f s",
        parsed.seconds,
        written - started,
        checked - written,
        time.monotonic() - checked,
    )
    return parsed.site


def import_folder(
    store: Store, folder: Path, workers: int, chunk_size: int = CHUNK
) -> tuple[SiteConfig, int]:
    """Parse, check and import a registry folder in one transaction; return (site, devices).

    `workers` parser processes are forked for the device files (0: parse them here), which
    each take `chunk_size` files at a time.
    """
    parsed = parse_folder(folder, workers, chunk_size)
    assert parsed is not None  # never abandoned
    return write_parsed(store, parsed), parsed.devices


def run(request: dict[str, Any], parsed: Parsed | None = None) -> int:
    """Import as `request` says, from `parsed` if that is its folder parsed already; return
    the exit code (see the module docstring)."""
    started = time.monotonic()
    store = Store(request["store"])
    folder = Path(request["folder"])
    try:
        if parsed is not None and parsed.folder == folder:
            site, devices = write_parsed(store, parsed), parsed.devices
        else:
            chunk = int(request.get("chunk", CHUNK))
            site, devices = import_folder(store, folder, parser_count(), chunk)
        store.checkpoint()  # before the hub reads what was written
    except ConfigError as exc:
        json.dump({"path": exc.path, "problems": exc.problems}, sys.stdout)
        return INVALID
    finally:
        store.close()
    ImportMark(Path(request["mark"])).write(request["fingerprint"], request["store"], site, devices)
    log.info(
        "imported registry of site %s: %d devices, %.1f s after the request (%d parser processes)",
        site.site,
        devices,
        time.monotonic() - started,
        parser_count(),
    )
    return 0


def _read_stdin() -> str:
    """Read stdin to its end by file descriptor: `sys.stdin.read()` would hold the stream's
    lock meanwhile, and a parser forked then would deadlock closing its copy of stdin."""
    parts = []
    while chunk := os.read(0, 65536):
        parts.append(chunk)
    return b"".join(parts).decode()


def _request(text: str) -> dict[str, Any] | None:
    """The request read from stdin; None if stdin closed without one (not needed)."""
    if not text.strip():
        return None
    request: dict[str, Any] = json.loads(text)
    logging.basicConfig(
        level=str(request.get("log_level", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return request


def main(argv: list[str]) -> int:
    """Import as the request on stdin says; return the exit code.

    With a folder as the argument, parse and check it at once, while the hub decides whether
    to ask for its import (the request names the folder again): then only the writes are left
    when the request comes.
    """
    if not argv:
        request = _request(_read_stdin())
        return NOT_ASKED if request is None else run(request)
    with ThreadPoolExecutor(1) as reader:
        asked = reader.submit(_read_stdin)
        parsed = parse_folder(
            Path(argv[0]),
            parser_count(),
            abandoned=lambda: asked.done() and not asked.result().strip(),
        )
        os.write(1, PARSED)  # the hub loads its own modules now, while this one writes
        request = _request(asked.result())
    return NOT_ASKED if request is None else run(request, parsed)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # The hub waits for this process to exit; its objects (a site of 100,000 households and
    # residents) need not be freed one by one first: the store is closed, the output flushed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
