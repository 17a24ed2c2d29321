"""The fall-detector evaluation: sets that differ in seeds and generator parameters, the table."""

from __future__ import annotations

import io

from rich.console import Console

from simulators.falleval import ALL_FALLS, SETS, evaluate, print_report


def test_sets_differ_in_generator_parameters() -> None:
    assert SETS["tuning"] != SETS["varied"] != SETS["held-out"]
    assert SETS["held-out"].impact_scale[0] < SETS["varied"].impact_scale[0]


def test_small_evaluation_and_table() -> None:
    results = evaluate(days=0, falls_per_kind=2, seed=42, rates=(25.0, 100.0), sets=("varied",))
    assert [(r.rate_hz, r.name) for r in results] == [(25.0, "varied"), (100.0, "varied")]
    for r in results:
        assert sum(r.falls.values()) == 2 * len(ALL_FALLS)
        assert r.sensitivity >= 0.8
        assert r.fall_trace_extra == 0
    out = io.StringIO()
    print_report(results, Console(file=out, width=160))
    text = out.getvalue()
    assert "fall: slump" in text and "false alarms / device-day" in text and "25 Hz" in text
