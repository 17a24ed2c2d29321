"""The fall-detector evaluation: labelled days, scoring and the report table."""

from __future__ import annotations

import io

from rich.console import Console

from edge.fall import FallDetection
from simulators.falleval import EvalSet, evaluate, print_report, score_day
from simulators.signals import FALL_KINDS, FallLabel


def test_score_day_matches_and_attributes_false_alarms() -> None:
    result = EvalSet(name="x", days=1)
    labels = [FallLabel("forward", 10.0, 3.0), FallLabel("slide", 50.0, 2.5)]
    spans = [(20.0, 30.0, "sit_hard")]
    found = [FallDetection(10.3, 3.0), FallDetection(25.0, 2.4), FallDetection(10.5, 2.9)]
    score_day(result, labels, spans, found)
    assert result.detected == {**dict.fromkeys(FALL_KINDS, 0), "forward": 1}
    assert result.falls["slide"] == 1
    assert result.false_alarms == {"sit_hard": 1, "other": 1}
    assert result.sensitivity == 0.5
    assert result.false_alarms_per_day == 2.0


def test_evaluate_one_day() -> None:
    report = evaluate(1, seed=42, rate_hz=25)
    for group in (report.tuning, report.held_out):
        assert sum(group.falls.values()) == 2 * len(FALL_KINDS)
        assert group.sensitivity >= 0.8
        assert group.false_alarms_per_day <= 1.0
    out = io.StringIO()
    print_report(report, Console(file=out, width=120))
    assert "sensitivity: slide" in out.getvalue()
    assert "held-out" in out.getvalue()
