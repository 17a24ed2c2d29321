"""SQLite checkpoint settings side by side (hub/store/checkpoint.py): CPU an event, commit time.

`python -m simulators.bench_wal --rounds 10` makes one database file per setting, each with
the store's `events` and `device_state` tables (`hub.store.schema`), 20,000 devices in the
latter, then writes, in rounds, every device's event in a random order, 200 a transaction, as
a group commit of `test` events does (the SQL of `bench_engine`'s baseline: INSERT
executemany, UPDATE of the devices' last seen, COMMIT; bare sqlite3, WAL, synchronous=FULL).
The settings take their rounds in turn, so a slow minute of the machine falls on all of them.
Prints, per setting, CPU µs an event (the process's, checkpoint thread included) over the last
half of the rounds, and commit wall time p50/p99/max.
本脚本比较 SQLite 检查点设置：每个事件的 CPU 时间与提交耗时。
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine

from hub.store.checkpoint import FALLBACK_FRAMES, Checkpointer
from hub.store.schema import Base
from simulators.bench_engine import BARE_INSERT, BARE_SEEN

SETTINGS: dict[str, tuple[str, ...]] = {
    "SQLite's defaults (checkpoint in the commit at 1,000 pages)": (),
    "8 MiB page cache": ("cache_size=-8192",),
    "8 MiB cache, checkpoint in the commit at 10,000 pages": (
        "cache_size=-8192",
        "wal_autocheckpoint=10000",
    ),
    "the store's: 8 MiB cache, checkpoint thread": (
        "cache_size=-8192",
        f"wal_autocheckpoint={FALLBACK_FRAMES}",
        "journal_size_limit=67108864",
    ),
}
THREADED = "the store's: 8 MiB cache, checkpoint thread"
TABLES = [Base.metadata.tables["events"], Base.metadata.tables["device_state"]]


def seed_devices(conn: sqlite3.Connection, devices: list[str]) -> None:
    """A `device_state` row, online, for each of `devices` (site `s`)."""
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO device_state (site, device, last_seen, online, flaps) "
        "VALUES ('s', ?, '2026-01-01', 1, 0)",
        [(d,) for d in devices],
    )
    conn.execute("COMMIT")


def write_round(
    conn: sqlite3.Connection,
    lock: threading.Lock,
    order: list[str],
    batch: int,
    r: int,
    commits: list[float] | None = None,
) -> float:
    """Write one `test` event of each device in `order`, `batch` a transaction, as a group
    commit of plain events does; return CPU µs an event (this process's). The COMMITs' wall
    times go into `commits` if given."""
    c0 = time.process_time()
    for i in range(0, len(order), batch):
        part = order[i : i + batch]
        at = f"2026-12-03 10:00:{r % 60:02d}.{i:06d}"
        rows = [(str(uuid.uuid4()), "s", d, r, at, at, "test", "bench", "{}") for d in part]
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(BARE_INSERT, rows)
            conn.execute(BARE_SEEN, (at, "s", json.dumps(part)))
            t0 = time.perf_counter()
            conn.execute("COMMIT")
            if commits is not None:
                commits.append(time.perf_counter() - t0)
    return (time.process_time() - c0) / len(order) * 1e6


def main() -> None:
    """Run the settings in turn and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    devices = [f"bench-{i:06d}" for i in range(args.devices)]
    folder = Path(tempfile.mkdtemp(prefix="watchpost-wal-"))
    conns: dict[str, sqlite3.Connection] = {}
    locks = {name: threading.Lock() for name in SETTINGS}
    threads: list[Checkpointer] = []
    for n, (name, pragmas) in enumerate(SETTINGS.items()):
        path = folder / f"{n}.db"
        # The store's own definitions of the two tables (their keys and indexes), no others.
        made = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(made, tables=TABLES)
        made.dispose()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", *pragmas):
            conn.execute(f"PRAGMA {pragma}")
        seed_devices(conn, devices)
        conns[name] = conn
        if name == THREADED:
            threads.append(Checkpointer(str(path), locks[name]).start())
    cpu: dict[str, list[float]] = {name: [] for name in SETTINGS}
    commits: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for r in range(args.rounds):
        order = random.sample(devices, len(devices))
        for name, conn in conns.items():
            cpu[name].append(write_round(conn, locks[name], order, args.batch, r, commits[name]))
        print(f"round {r + 1}/{args.rounds}", flush=True)  # noqa: T201 - progress
    for thread in threads:
        thread.stop()
    half = args.rounds // 2
    print(f"{'setting':58s} {'CPU µs/event':>12s} {'commit p50':>10s} {'p99':>7s} {'max':>7s}")  # noqa: T201
    for name in SETTINGS:
        times = sorted(commits[name])
        late = cpu[name][half:]
        print(  # noqa: T201 - the report
            f"{name:58s} {sum(late) / len(late):12.1f} {times[len(times) // 2] * 1e3:9.1f}ms "
            f"{times[int(len(times) * 0.99)] * 1e3:5.1f}ms {times[-1] * 1e3:5.1f}ms"
        )
    for conn in conns.values():
        conn.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
