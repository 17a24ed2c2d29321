"""Measure the fall detector on labelled synthetic days: sensitivity per fall type, false alarms.

A simulated day is the active part of an older resident's day (walking bouts, sitting down and
standing up, stairs down, lying on the bed, dropping hard onto a chair, flopping onto the bed,
stumbling and catching oneself)
with two falls of every type inserted at random points. Quiet time (sleep, sitting still) is
shortened to seconds: without a free-fall phase the detector cannot fire during it, so it
would only cost run time. Days are generated from seeds; the report covers the seeds asked for
and, separately, held-out seeds that were never used while choosing the thresholds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from edge.fall import FallDetection, FallDetector
from protocol.device_config import FallConfig
from simulators.signals import FALL_KINDS, FallLabel, Timeline

MATCH_S = 1.0
"""A detection counts for a fall if its impact time is within this many seconds of the label."""

# activities of daily living per simulated day (counts), chosen for a mobile older resident
# living in a walk-up building
DAY_PLAN = {
    "walk": 40, "sit": 30, "stairs": 6, "lie_bed": 2, "flop_bed": 1, "sit_hard": 4, "stumble": 3,
}  # fmt: skip
FALLS_PER_KIND = 2
"""Falls of each kind inserted into every simulated day."""


@dataclass
class EvalSet:
    """Results over one group of simulated days."""

    name: str
    days: int
    hours: float = 0.0
    adl_events: int = 0
    falls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FALL_KINDS, 0))
    detected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FALL_KINDS, 0))
    false_alarms: dict[str, int] = field(default_factory=dict)

    @property
    def sensitivity(self) -> float:
        """Return the share of all falls that were detected."""
        total = sum(self.falls.values())
        return sum(self.detected.values()) / total if total else 0.0

    @property
    def false_alarms_per_day(self) -> float:
        """Return false alarms per simulated day."""
        return sum(self.false_alarms.values()) / self.days if self.days else 0.0


@dataclass
class FallEvalReport:
    """Fall detector evaluation: the seeds' own days and held-out days."""

    rate_hz: float
    jitter: float
    config: FallConfig
    tuning: EvalSet
    held_out: EvalSet


def build_day(rng: random.Random) -> tuple[Timeline, list[tuple[float, float, str]]]:
    """Return one simulated day and the (start, end, activity) spans of its daily activities."""
    tl = Timeline(rng)
    todo = [kind for kind, count in DAY_PLAN.items() for _ in range(count)]
    todo += list(FALL_KINDS) * FALLS_PER_KIND
    rng.shuffle(todo)
    spans = []
    for kind in todo:
        start = tl.now
        _act(tl, rng, kind)
        if kind not in FALL_KINDS:
            spans.append((start, tl.now, kind))
        tl.rest(rng.uniform(3.0, 20.0))
    return tl, spans


def _act(tl: Timeline, rng: random.Random, kind: str) -> None:
    """Append one activity (or a fall and what follows it) to the day."""
    if kind in FALL_KINDS:
        tl.walk(rng.uniform(2.0, 6.0)).fall(kind)
        if kind != "recovery":
            tl.rest(rng.uniform(15.0, 40.0)).get_up()  # helped up after the alarm
    elif kind == "walk":
        tl.walk(rng.uniform(10.0, 90.0))
    elif kind == "sit":
        tl.sit_down().rest(rng.uniform(5.0, 30.0)).stand_up()
    elif kind == "stairs":
        tl.walk(rng.uniform(8.0, 30.0), stairs_down=True)
    elif kind == "lie_bed":
        tl.lie_down().rest(rng.uniform(10.0, 40.0)).get_up()
    elif kind == "flop_bed":
        tl.lie_down(flop=True).rest(rng.uniform(10.0, 40.0)).get_up()
    elif kind == "sit_hard":
        tl.sit_hard().rest(rng.uniform(5.0, 30.0)).stand_up()
    elif kind == "stumble":
        tl.walk(rng.uniform(2.0, 10.0)).stumble()


def run_detector(
    tl: Timeline, config: FallConfig, rate_hz: float, jitter: float, seed: int
) -> list[FallDetection]:
    """Sample a timeline and return what the detector reports."""
    detector = FallDetector(config)
    found = []
    for t, ax, ay, az in tl.samples(rate_hz, jitter=jitter, seed=seed):
        hit = detector.update(t, ax, ay, az)
        if hit is not None:
            found.append(hit)
    return found


def score_day(
    result: EvalSet,
    labels: list[FallLabel],
    spans: list[tuple[float, float, str]],
    found: list[FallDetection],
) -> None:
    """Match detections to labelled falls; count the rest as false alarms by activity."""
    unmatched = list(labels)
    for label in labels:
        result.falls[label.kind] += 1
    for hit in found:
        match = next((lb for lb in unmatched if abs(hit.t - lb.impact_t) <= MATCH_S), None)
        if match is not None:
            unmatched.remove(match)
            result.detected[match.kind] += 1
            continue
        cause = next((kind for start, end, kind in spans if start <= hit.t <= end), "other")
        result.false_alarms[cause] = result.false_alarms.get(cause, 0) + 1


def evaluate_seeds(
    name: str, seeds: list[str], config: FallConfig, rate_hz: float, jitter: float
) -> EvalSet:
    """Evaluate the detector over one simulated day per seed."""
    result = EvalSet(name=name, days=len(seeds))
    for index, seed in enumerate(seeds):
        tl, spans = build_day(random.Random(seed))
        found = run_detector(tl, config, rate_hz, jitter, index)
        score_day(result, tl.falls, spans, found)
        result.hours += tl.now / 3600
        result.adl_events += len(spans)
    return result


def evaluate(
    days: int,
    seed: int,
    *,
    rate_hz: float = 50.0,
    jitter: float = 0.2,
    config: FallConfig | None = None,
) -> FallEvalReport:
    """Evaluate the fall detector on `days` seeded days and on as many held-out days."""
    cfg = config or FallConfig()
    tuning = [f"{seed}:day:{i}" for i in range(days)]
    held = [f"{seed}:held-out:{i}" for i in range(days)]
    return FallEvalReport(
        rate_hz=rate_hz,
        jitter=jitter,
        config=cfg,
        tuning=evaluate_seeds(f"seed {seed}", tuning, cfg, rate_hz, jitter),
        held_out=evaluate_seeds("held-out", held, cfg, rate_hz, jitter),
    )


def report_table(report: FallEvalReport) -> Table:
    """Return the evaluation as a Rich table (one column per set of days)."""
    sets = (report.tuning, report.held_out)
    table = Table(
        title=f"Fall detector / 跌倒检测: {report.rate_hz:g} Hz, jitter ±{report.jitter:.0%}",
        caption=f"{MATCH_S:g} s match window; {sum(s.days for s in sets)} simulated days",
    )
    table.add_column("measure / 指标")
    for s in sets:
        table.add_column(f"{s.name} ({s.days} d, {s.hours:.1f} h active)", justify="right")
    for kind in FALL_KINDS:
        cells = [f"{s.detected[kind]}/{s.falls[kind]}" for s in sets]
        table.add_row(f"sensitivity: {kind}", *cells)
    table.add_row("sensitivity: all", *[f"{s.sensitivity:.1%}" for s in sets], style="bold")
    table.add_row("daily activities", *[str(s.adl_events) for s in sets])
    table.add_row(
        "false alarms / day", *[f"{s.false_alarms_per_day:.2f}" for s in sets], style="bold"
    )
    causes = sorted({c for s in sets for c in s.false_alarms})
    for cause in causes:
        table.add_row(
            f"  false alarms from {cause}", *[str(s.false_alarms.get(cause, 0)) for s in sets]
        )
    return table


def print_report(report: FallEvalReport, console: Console | None = None) -> None:
    """Print the evaluation as a Rich table."""
    (console or Console()).print(report_table(report))
