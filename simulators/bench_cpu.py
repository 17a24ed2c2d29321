"""Pure-CPU benchmarks: the wire codec and the fall detector, no servers involved.

Both run the real code (`protocol.codec`, `edge.fall.FallDetector`) in a loop for a fixed
amount of CPU time and report per-item cost; inputs are built before the clock starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from edge.fall import FallDetector
from protocol.codec import decode, decode_event, encode, new_event_id
from protocol.device_config import FallConfig
from protocol.messages import EVENT_KINDS, Event, Telemetry, utcnow
from simulators.bench_figures import Note, Result
from simulators.signals import ADL_KINDS, FALL_KINDS, Sample, activity

DAY_S = 86_400
RATE_HZ = 50.0


def _timed(run: Callable[[], int], budget_s: float) -> tuple[int, float, float]:
    """Call `run` (which returns how many items it did) until `budget_s` CPU seconds passed.

    Return items done, CPU seconds and wall seconds.
    """
    items = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        items += run()
        cpu = time.process_time() - cpu0
        if cpu >= budget_s:
            return items, cpu, time.perf_counter() - wall0


def sample_events(count: int, devices: int = 50) -> list[Event]:
    """Return `count` realistic events of every kind from `devices` devices."""
    kinds = [k for k in EVENT_KINDS if k != "cancel"] or list(EVENT_KINDS)
    start = utcnow()
    return [
        Event(
            id=new_event_id(),
            device=f"home-b{i % devices}-101",
            seq=i,
            ts=start + timedelta(milliseconds=i),
            kind=kinds[i % len(kinds)],
            source="gpio:call",
            data={"peak_g": 3.2, "level": 0.41} if i % 3 else {},
        )
        for i in range(count)
    ]


def bench_codec(quick: bool, note: Note) -> Result:
    """Measure decode (parse + validate) and encode cost of events and telemetry."""
    budget = 0.3 if quick else 1.5
    result = Result("codec", "protocol.codec: cost per message (one core)")
    events = sample_events(1_000)
    payloads = [encode(e) for e in events]
    telemetry = [
        encode(Telemetry(device=e.device, ts=e.ts, readings={"smoke_level": 0.05, "uptime_s": 9.0}))
        for e in events
    ]

    def decode_all() -> int:
        for p in payloads:
            decode_event(p)
        return len(payloads)

    def encode_all() -> int:
        for e in events:
            encode(e)
        return len(events)

    def decode_telemetry() -> int:
        for p in telemetry:
            decode("telemetry", p)
        return len(telemetry)

    cases = (
        ("decode_event", "decode event", decode_all),
        ("encode_event", "encode event", encode_all),
        ("decode_telemetry", "decode telemetry", decode_telemetry),
    )
    for key, label, run in cases:
        note(f"codec: {label}")
        items, cpu, _ = _timed(run, budget)
        result.add(f"{key}_us", f"{label}: CPU per message", cpu / items * 1e6, "µs")
        result.add(f"{key}_per_s", f"{label}: messages per CPU second", round(items / cpu), "msg/s")
    size = sum(len(p) for p in payloads) / len(payloads)
    result.add("event_bytes", "event payload size (mean)", round(size), "B")
    return result


def day_samples(seconds: float, seed: int = 0) -> list[Sample]:
    """Return about `seconds` of 50 Hz torso samples: every daily activity and every fall kind."""
    out: list[Sample] = []
    offset, index = 0.0, 0
    # alternate daily activities and falls so that even a short run contains falls
    kinds = [k for pair in zip(ADL_KINDS, FALL_KINDS * 2, strict=False) for k in pair]
    while not out or out[-1][0] < seconds:
        kind = kinds[index % len(kinds)]
        for t, x, y, z in activity(kind, seed + index).samples(RATE_HZ, jitter=0.1, seed=index):
            out.append((offset + t, x, y, z))
        offset = out[-1][0] + 1.0 / RATE_HZ
        index += 1
    return out


def bench_fall(quick: bool, note: Note) -> Result:
    """Measure FallDetector samples per CPU second and the CPU a day of 50 Hz data costs."""
    result = Result("fall", "edge.fall.FallDetector: pure Python, one core")
    note("fall: synthesising activities and falls at 50 Hz")
    samples = day_samples(120.0 if quick else 600.0)
    span = samples[-1][0] - samples[0][0]
    detections = 0

    def run() -> int:
        nonlocal detections
        detector = FallDetector(FallConfig())
        update = detector.update
        for t, x, y, z in samples:
            if update(t, x, y, z) is not None:
                detections += 1
        return len(samples)

    note("fall: feeding the detector")
    items, cpu, _ = _timed(run, 0.3 if quick else 2.0)
    rate = items / cpu
    day_cpu = DAY_S * RATE_HZ / rate
    result.add("samples_per_s", "samples per CPU second", round(rate), "samples/s")
    result.add("us_per_sample", "CPU per sample", 1e6 / rate, "µs")
    result.add("day_50hz_cpu_s", "CPU for one day of 50 Hz samples", day_cpu, "s")
    result.add("days_per_cpu_s", "days of 50 Hz data per CPU second", 1.0 / day_cpu, "days")
    result.add("core_share_pct", "share of one core at 50 Hz, live", day_cpu / DAY_S * 100, "%")
    passes = items // len(samples)
    result.notes.append(
        f"{len(samples):,} samples ({span / 60:.1f} min of {len(ADL_KINDS)} daily activities "
        f"and {len(FALL_KINDS)} fall kinds, 10% timestamp jitter) fed {passes}x; "
        f"{detections // max(1, passes)} falls detected per pass"
    )
    return result
