"""The floor of a plain event under other `events` indexes (issue #8, "a fast engine").

`python -m simulators.bench_event_index --order random --rounds 8` makes one SQLite file per
layout of the `events` table, each with a `device_state` row for `--devices` devices, then
writes, in rounds, one `test` event of every device, `--batch` a transaction, as a group
commit of plain events does: the SQL of `bench_engine`'s bare baseline (INSERT executemany,
UPDATE of the devices' last seen, COMMIT; bare sqlite3, the store's pragmas, its checkpoint
thread). The layouts take their rounds in turn, so a slow minute of the machine falls on all.

The store's `events` has two indexes that each take every new event: the primary key on its
`id` (a UUID, in no order) and `ix_events_device_ts` (site, device, ts). With devices in a
random order, each batch of 200 writes ~200 scattered pages of each. The other layout keeps one
index, unique on (site, device, id), that could serve deduplication (a device resends its own
events) and a device's history alike. Prints CPU µs an event, mean of the last half of the
rounds, per layout. Not a migration: what one could gain, measured (docs/bench.md).
本脚本比较事件表索引布局对非告警事件写入下限的影响。
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

from sqlalchemy import create_engine

from hub.store.checkpoint import Checkpointer
from hub.store.database import sqlite_pragmas
from hub.store.schema import Base
from simulators.bench_wal import seed_devices, write_round

STORE = "the store's: PRIMARY KEY (id) + (site, device, ts)"
ONE_INDEX = "one index: UNIQUE (site, device, id)"
LAYOUTS = (STORE, ONE_INDEX)
_ONE_INDEX_DDL = (
    "CREATE TABLE events (id VARCHAR(36) NOT NULL, site VARCHAR(64) NOT NULL, "
    "device VARCHAR(64) NOT NULL, seq INTEGER, ts DATETIME, received_at DATETIME, kind "
    "VARCHAR(32), source VARCHAR(64), data JSON, alarm_id VARCHAR(64), clock_skew_s FLOAT)",
    "CREATE UNIQUE INDEX ux_events_device_id ON events (site, device, id)",
)


def _database(path: Path, layout: str, devices: list[str]) -> sqlite3.Connection:
    """A file with `device_state` as the store has it and `events` in `layout`."""
    made = create_engine(f"sqlite:///{path}")
    tables = [Base.metadata.tables["device_state"]]
    if layout == STORE:
        tables.append(Base.metadata.tables["events"])
    Base.metadata.create_all(made, tables=tables)
    made.dispose()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    sqlite_pragmas(conn)
    # No `devices` table here for `device_state`'s key to point to; the rows timed (events, a
    # last seen) are checked against none.
    conn.execute("PRAGMA foreign_keys=OFF")
    if layout == ONE_INDEX:
        for ddl in _ONE_INDEX_DDL:
            conn.execute(ddl)
    seed_devices(conn, devices)
    return conn


def main() -> None:
    """Run the layouts in turn and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--order", choices=("random", "registry"), default="random")
    args = parser.parse_args()
    devices = [f"bench-{i:06d}" for i in range(args.devices)]
    folder = Path(tempfile.mkdtemp(prefix="watchpost-event-index-"))
    conns: dict[str, sqlite3.Connection] = {}
    locks = {name: threading.Lock() for name in LAYOUTS}
    threads: list[Checkpointer] = []
    for n, layout in enumerate(LAYOUTS):
        path = folder / f"{n}.db"
        conns[layout] = _database(path, layout, devices)
        threads.append(Checkpointer(str(path), locks[layout]).start())
    cpu: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    try:
        for r in range(args.rounds):
            order = random.sample(devices, len(devices)) if args.order == "random" else devices
            for layout, conn in conns.items():
                cpu[layout].append(write_round(conn, locks[layout], order, args.batch, r))
            print(f"round {r + 1}/{args.rounds}", flush=True)  # noqa: T201 - progress
    finally:
        for thread in threads:
            thread.stop()
        for conn in conns.values():
            conn.close()
        shutil.rmtree(folder, ignore_errors=True)
    late = args.rounds // 2
    print(f"{'layout (' + args.order + ' order)':52s} {'CPU µs/event':>12s}")  # noqa: T201
    for layout in LAYOUTS:
        values = cpu[layout][late:]
        print(f"{layout:52s} {sum(values) / len(values):12.1f}")  # noqa: T201 - the report


if __name__ == "__main__":
    main()
