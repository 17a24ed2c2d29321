"""The virtual home's sensor sources replay synthetic signals against a clock."""

from __future__ import annotations

import pytest

from edge.fall import FallDetector
from protocol.device_config import FallConfig
from simulators.home import CurveLevel, TimelineAccel
from simulators.signals import Timeline, smoke_curve


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_accel_rests_upright_then_replays_a_fall() -> None:
    clock = Clock()
    accel = TimelineAccel(1, clock=clock)
    detector = FallDetector(FallConfig())
    hits = []
    for _ in range(100):  # 2 s resting: about 1 g along z
        *_, az = accel.read()
        assert az == pytest.approx(1.0, abs=0.1)
        clock.now += 0.02
    accel.play(Timeline(2).walk(1.0).fall("backward").rest(5.0))
    started = clock.now
    while accel.busy:
        if (hit := detector.update(clock.now, *accel.read())) is not None:
            hits.append(hit)
        clock.now += 0.02
    assert len(hits) == 1
    assert 1.0 < hits[0].t - started < 3.0
    *_, az = accel.read()  # stays lying afterwards
    assert abs(az) < 0.5


def test_level_follows_the_curve() -> None:
    clock = Clock()
    level = CurveLevel(1, clock=clock)
    assert level.value == pytest.approx(0.05, abs=0.03)
    curve = smoke_curve("flaming", 1, scale=0.1)
    level.play(curve)
    clock.now += curve.rise_s + 1
    assert level.value == pytest.approx(curve.peak, abs=0.08)
