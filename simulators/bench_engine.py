"""In-process cost of the alarm engine (issue #8, "a fast engine"): hub time per input.

`python -m simulators.bench_engine --homes 200 --devices 20000 --batch 200` builds a generated
community of `--homes` homes (workers, residents: what an SOS needs) in a fresh SQLite store (or
`--url`), adds `--devices` more devices straight into the registry table (common-area devices,
one bulk INSERT: generating and importing 100,000 homes takes minutes) and `--history` closed
alarms of the past year (a store in use: an SOS's reads must not grow with them), then feeds
the engine, in group commits of `--batch` (as the ingest lane makes them):

(On PostgreSQL each phase starts with an `ANALYZE`, as autovacuum would have run by then.)

1. every device's first `online` status (a transition: no liveness row yet), then a second
   (a routine heartbeat that reached the engine), through `Engine.on_inputs`; and, for
   comparison, `--one-by-one` statuses through `on_status` (one ORM transaction each);
2. every device's `test` event, then its `activity` event, then all of those again
   (duplicates), through `on_events`; between the two, the baseline: the rows such a group
   commit writes (the events, the devices' last seen), by bare sqlite3 (`_bare`); then one
   more `test` event each, the devices in a random order, and the baseline in that order;
3. supervision: the first tick (a full pass over every device) and a tick when none is due;
4. `--sos` SOS `call`s alone (`on_event`), each on another home, after the rehearsal the hub
   runs at start (`Engine.rehearse`): ms each, median and worst; then one more, its SQL
   statements counted.

Wall time, COMMIT and fsync included, and the process's CPU time (`*_cpu_*`: steadier on a
shared machine; it leaves out waiting for the disk). Nothing else runs: no broker, no API,
no dispatch.
Prints one JSON line. 本脚本只测告警引擎本身：状态、非告警事件、监督和单个 SOS 的耗时（含提交）。
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text

from hub.alarms.engine import Engine
from hub.policy import Policy
from hub.store import Store
from hub.store.database import sqlite_pragmas
from hub.store.schema import AlarmRow, DeviceRow
from protocol.messages import Event, EventKind, Status, utcnow
from simulators.bench_figures import Note, Result
from simulators.community import generate_community
from simulators.services import Postgres


def _event(device: str, kind: EventKind, seq: int) -> Event:
    return Event(
        id=str(uuid.uuid4()), device=device, seq=seq, ts=utcnow(), kind=kind, source="bench"
    )


def _bulk_devices(store: Store, site: str, grid: str, building: str, n: int) -> list[str]:
    ids = [f"bench-{i:06d}" for i in range(n)]
    rows: list[dict[str, Any]] = [
        {"site": site, "id": d, "grid": grid, "building": building, "location": "bench"}
        for d in ids
    ]
    with store.session(write=True) as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(DeviceRow), rows[i : i + 5000])
    return ids


def _history(store: Store, site: str, devices: Sequence[str], n: int) -> None:
    """Add `n` closed alarms over the past year (1 in 10 a false alarm), as a store in use has:
    the SOS's per-device reads must not grow with them."""
    year_ago = utcnow() - timedelta(days=365)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        raised = year_ago + timedelta(seconds=i * 365 * 86_400 / max(n, 1))
        rows.append(
            {"id": f"history-{i:08d}", "site": site, "device": devices[i % len(devices)],
             "cls": ("call", "fall", "trouble")[i % 3], "reason": "history", "state": "resolved",
             "active": False, "raised_at": raised, "updated_at": raised, "tier": 0,
             "outcome": "false_alarm" if i % 10 == 0 else "resolved", "repeats": 0,
             "event_ids": [], "count": 0}
        )  # fmt: skip
    with store.session(write=True) as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(AlarmRow), rows[i : i + 5000])


def _analyze(store: Store) -> None:
    """PostgreSQL: refresh the planner's statistics, as autovacuum does within a minute of a
    bulk change (a bench phase lasts seconds; with the empty tables' statistics the planner
    scans every device for each batch)."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


SHUFFLE_SEED = 8
"""The random order of the shuffled phase (the same devices in the same order every run)."""
BARE_INSERT = (
    "INSERT INTO events (id, site, device, seq, ts, received_at, kind, source, data, "
    "alarm_id, clock_skew_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)
"""The baseline's INSERT of a plain event (bare sqlite3; also `bench_wal`'s)."""
BARE_SEEN = (
    "UPDATE device_state SET last_seen = ? WHERE site = ? "
    "AND device IN (SELECT value FROM json_each(?))"
)
"""The baseline's UPDATE of the batch's devices' last seen (a JSON array of ids)."""


def _bare(store: Store, site: str, events: Sequence[Event], batch: int) -> float:
    """The floor: the rows a group commit of plain events writes, with nothing decided, by
    bare sqlite3 on its own connection to the same file (the store's pragmas): per batch one
    INSERT executemany of the events, one UPDATE of the devices' last seen, COMMIT. Returns
    seconds of the process's CPU."""
    path = store.engine.url.database
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_pragmas(conn)  # the store's own; its checkpoint thread serves this file too
        c0 = time.process_time()
        for i in range(0, len(events), batch):
            part = events[i : i + batch]
            now = utcnow().isoformat(" ", "microseconds")[:26]
            rows = [
                (e.id, site, e.device, e.seq, e.ts.isoformat(" ", "microseconds")[:26], now,
                 e.kind, e.source, json.dumps(e.data))
                for e in part
            ]  # fmt: skip
            with store._one_writer:  # as the store's own writers: one at a time
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(BARE_INSERT, rows)
                conn.execute(BARE_SEEN, (now, site, json.dumps([e.device for e in part])))
                conn.execute("COMMIT")
        return time.process_time() - c0
    finally:
        conn.close()


async def _batches(
    engine: Engine, items: list[tuple[str, Any]], batch: int, *, statuses: bool
) -> tuple[float, float]:
    """Feed `items` in group commits; return seconds of wall time and of the process's CPU."""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(items), batch):
        part = items[i : i + batch]
        if statuses and not hasattr(engine, "on_inputs"):  # an engine before on_inputs
            outcomes = [await engine.on_status(site, s) for site, s in part]
        else:
            outcomes = await (engine.on_inputs(part) if statuses else engine.on_events(part))
        assert all(o.rejected is None for o in outcomes), outcomes[0]
    return time.perf_counter() - t0, time.process_time() - c0


async def _run(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    registry = generate_community(args.homes)
    store = Store(args.url or f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.import_registry(registry)
    site = registry.site.site
    homes = [d.device for d in registry.devices if d.household]
    first = registry.devices[0]
    extra = _bulk_devices(store, site, first.grid, first.building, args.devices)
    devices = [d.device for d in registry.devices] + extra
    _history(store, site, devices, args.history)
    engine = Engine(store, Policy(missed_heartbeats=3, offline_grace_s=30))
    out: dict[str, float] = {"devices": len(devices), "batch": args.batch}
    # As the hub does once started (hub/app.py, `_settled_gc`): what start-up built is moved
    # out of the cyclic GC's way, so its passes walk only what the engine builds from here on.
    gc.collect()
    gc.freeze()

    def statuses(offset_s: float) -> list[tuple[str, Status]]:
        ts = utcnow() + timedelta(seconds=offset_s)
        return [(site, Status(device=d, ts=ts, state="online", heartbeat_s=30.0)) for d in devices]

    for label, offset in (("status_first", 0.0), ("status_routine", 1.0)):
        _analyze(store)
        items = statuses(offset)
        took, cpu = await _batches(engine, list(items), args.batch, statuses=True)
        out[f"{label}_per_s"] = len(items) / took
        out[f"{label}_us"] = took / len(items) * 1e6
        out[f"{label}_cpu_us"] = cpu / len(items) * 1e6
    if args.one_by_one:
        sample = statuses(2.0)[: args.one_by_one]
        t0 = time.perf_counter()
        for s, status in sample:
            await engine.on_status(s, status)
        out["status_on_status_us"] = (time.perf_counter() - t0) / len(sample) * 1e6

    kinds: tuple[EventKind, ...] = ("test", "activity")
    events: list[tuple[str, Event]] = []
    for seq, kind in enumerate(kinds, start=1):
        _analyze(store)
        events = [(site, _event(d, kind, seq)) for d in devices]
        took, cpu = await _batches(engine, list(events), args.batch, statuses=False)
        out[f"{kind}_us_per_event"] = took / len(events) * 1e6
        out[f"{kind}_cpu_us"] = cpu / len(events) * 1e6
        if seq == 1 and store.engine.dialect.name == "sqlite":
            # Between the two, so its table is as large as theirs on average.
            bare = [_event(d, "test", 5) for d in devices]
            out["bare_cpu_us"] = _bare(store, site, bare, args.batch) / len(bare) * 1e6
    t0 = time.perf_counter()
    for i in range(0, len(events), args.batch):
        outcomes = await engine.on_events(events[i : i + args.batch])
        assert all(o.duplicate for o in outcomes)
    out["duplicate_us_per_event"] = (time.perf_counter() - t0) / len(events) * 1e6
    if store.engine.dialect.name == "sqlite":
        # The same once more with the devices in a random order, as a street's events arrive:
        # every batch's rows land on pages all over the indexes (the phases above go in the
        # registry's order, a few pages a batch). The engine, then its floor, alike.
        shuffled = list(devices)
        random.Random(SHUFFLE_SEED).shuffle(shuffled)
        _analyze(store)
        events = [(site, _event(d, "test", 3)) for d in shuffled]
        _, cpu = await _batches(engine, events, args.batch, statuses=False)
        out["test_shuffled_cpu_us"] = cpu / len(events) * 1e6
        bare = [_event(d, "test", 6) for d in shuffled]
        out["bare_shuffled_cpu_us"] = _bare(store, site, bare, args.batch) / len(bare) * 1e6

    now = utcnow()
    t0 = time.perf_counter()
    await engine.tick(now)
    out["supervise_first_ms"] = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    await engine.tick(now + timedelta(seconds=engine.policy.supervision_interval_s))
    out["supervise_next_ms"] = (time.perf_counter() - t0) * 1e3

    t0 = time.perf_counter()
    await engine.rehearse()  # as the hub does at start (docs/hub.md)
    out["rehearse_ms"] = (time.perf_counter() - t0) * 1e3
    took_ms, cpu_ms = [], []
    statements: list[str] = []

    def count(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    for n, home in enumerate(homes[: args.sos]):
        t0, c0 = time.perf_counter(), time.process_time()
        sos = await engine.on_event(site, _event(home, "call", 10 + n))
        took_ms.append((time.perf_counter() - t0) * 1e3)
        cpu_ms.append((time.process_time() - c0) * 1e3)
        assert sos.rejected is None and sos.actions
    if len(homes) > args.sos:
        # The same path once more, its SQL counted (a figure no machine's speed changes).
        event.listen(store.engine, "before_cursor_execute", count)
        try:
            await engine.on_event(site, _event(homes[args.sos], "call", 99))
        finally:
            event.remove(store.engine, "before_cursor_execute", count)
        out["sos_statements"] = len(statements)
    out["sos_ms_median"] = statistics.median(took_ms)
    out["sos_ms_max"] = max(took_ms)
    out["sos_cpu_ms_median"] = statistics.median(cpu_ms)
    store.close()
    return out


FIGURES: tuple[tuple[str, str, str], ...] = (
    ("status_first_per_s", "statuses, first of each device (a transition), group commit", "/s"),
    ("status_routine_per_s", "statuses that reached the engine unchanged, group commit", "/s"),
    ("test_cpu_us", "`test` event, CPU each, group commit (target ≤ 50)", "µs"),
    ("activity_cpu_us", "`activity` event, CPU each, group commit (target ≤ 50)", "µs"),
    ("bare_cpu_us", "baseline: the same rows by bare sqlite3, nothing decided, CPU each", "µs"),
    ("duplicate_us_per_event", "a repeated event (duplicate), wall each", "µs"),
    ("test_shuffled_cpu_us", "`test` event, devices in a random order, CPU each", "µs"),
    ("bare_shuffled_cpu_us", "baseline in the same random order, CPU each", "µs"),
    ("supervise_first_ms", "supervision, first pass over every device", "ms"),
    ("supervise_next_ms", "supervision, a pass with none due", "ms"),
    ("sos_cpu_ms_median", "one SOS alone: CPU, committed + pages in the outbox (target ≤ 5)", "ms"),
    ("sos_statements", "one SOS alone: SQL statements (BEGIN included)", ""),
    ("sos_ms_median", "one SOS alone: wall, median (COMMIT and fsync included)", "ms"),
    ("sos_ms_max", "one SOS alone: wall, slowest", "ms"),
    ("rehearse_ms", "the start's rehearsal of an SOS (rolled back)", "ms"),
)


def bench_engine(quick: bool, note: Note) -> Result:
    """Measure the engine's cost per input in a process of its own (this module's `main`)."""
    result = Result("engine", "the alarm engine alone: hub time per input (SQLite)")
    devices, sos = (2_000, 9) if quick else (20_000, 15)
    history = devices
    note(f"engine: {devices:,} devices, {sos} SOS, in a process of its own")
    cmd = [sys.executable, "-m", "simulators.bench_engine", "--devices", str(devices),
           "--sos", str(sos), "--history", str(history)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        result.skipped = f"bench_engine failed ({done.returncode}): {done.stderr[-300:]}"
        return result
    figures = json.loads(lines[-1])
    for key, label, unit in FIGURES:
        if key in figures:
            result.add(key, label, figures[key], unit)
    result.notes.append(
        f"{devices:,} devices + a 200-home community in a SQLite store holding {history:,} "
        "closed alarms of the past year; the engine fed "
        "directly (no broker, API or dispatch), group commits of 200; CPU = the process's "
        f"time; the SOS path is rehearsed first (as at a hub's start), then {sos} timed one by one"
    )
    return result


def main() -> None:
    """Run once and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--devices", type=int, default=20_000, help="extra bulk devices")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--history", type=int, default=20_000, help="closed alarms of the past year in the store"
    )
    parser.add_argument("--sos", type=int, default=9, help="SOS calls timed one by one")
    parser.add_argument("--one-by-one", type=int, default=500, help="statuses via on_status")
    parser.add_argument("--url", default="", help="a database URL instead of a fresh SQLite")
    parser.add_argument(
        "--postgres", action="store_true", help="start a PostgreSQL of its own and use it"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            # Not under the private temp dir: the server runs as the `postgres` user.
            work = Path(tempfile.mkdtemp(prefix="watchpost-pg-"))
            work.chmod(0o777)
            server = Postgres(work).start()
            try:
                args.url = server.url
                figures = asyncio.run(_run(args, Path(tmp)))
            finally:
                server.stop()
                shutil.rmtree(work, ignore_errors=True)
        else:
            figures = asyncio.run(_run(args, Path(tmp)))
    print(json.dumps({k: round(v, 1) for k, v in figures.items()}))  # noqa: T201 - the report


if __name__ == "__main__":
    main()
