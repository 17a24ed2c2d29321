"""In-process cost of the alarm engine (issue #8, "a fast engine"): hub time per plain event.

`python -m simulators.bench_engine --homes 2000 --batch 200` builds a generated community in a
fresh SQLite store, then feeds the engine every device's `test` event in group commits of
`--batch` (as the ingest lane does), then `activity` events, then times one SOS `call` alone.
It prints µs per plain event (wall time of `Engine.on_events`, commit and fsync included) and
the SOS's ms. Nothing else runs: no broker, no API; the figure is the engine's own cost.
本脚本只测告警引擎本身：每条非告警事件的耗时（含提交），以及单个 SOS 的耗时。
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from hub.alarms.engine import Engine
from hub.policy import Policy
from hub.store import Store
from protocol.messages import Event, EventKind, utcnow
from simulators.community import generate_community


def _event(device: str, kind: EventKind, seq: int) -> Event:
    return Event(
        id=str(uuid.uuid4()), device=device, seq=seq, ts=utcnow(), kind=kind, source="bench"
    )


async def _run(homes: int, batch: int, folder: Path) -> dict[str, float]:
    registry = generate_community(homes)
    store = Store(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.import_registry(registry)
    site = registry.site.site
    devices = [d.device for d in registry.devices]
    engine = Engine(store, Policy(missed_heartbeats=100, offline_grace_s=3600))
    out: dict[str, float] = {"devices": len(devices), "batch": batch}
    kinds: tuple[EventKind, ...] = ("test", "activity")
    for seq, kind in enumerate(kinds, start=1):
        events = [(site, _event(d, kind, seq)) for d in devices]
        t0 = time.perf_counter()
        for i in range(0, len(events), batch):
            outcomes = await engine.on_events(events[i : i + batch])
            assert all(o.rejected is None and not o.duplicate for o in outcomes)
        out[f"{kind}_us_per_event"] = (time.perf_counter() - t0) / len(events) * 1e6
    # The same events again: every one a duplicate (idempotency by event id).
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        outcomes = await engine.on_events(events[i : i + batch])
        assert all(o.duplicate for o in outcomes)
    out["duplicate_us_per_event"] = (time.perf_counter() - t0) / len(events) * 1e6
    t0 = time.perf_counter()
    sos = await engine.on_event(site, _event(devices[0], "call", 3))
    out["sos_ms"] = (time.perf_counter() - t0) * 1e3
    assert sos.rejected is None
    store.close()
    return out


def main() -> None:
    """Run once and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(_run(args.homes, args.batch, Path(tmp)))
    print(json.dumps({k: round(v, 1) for k, v in figures.items()}))  # noqa: T201 - the report


if __name__ == "__main__":
    main()
