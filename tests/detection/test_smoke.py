"""Analog smoke detector: warm-up, confirmation, hysteresis; synthetic smoke curves."""

from __future__ import annotations

import pytest

from edge.smoke import AnalogSmokeDetector
from protocol.device_config import SmokeAnalogConfig
from simulators.signals import smoke_curve


def run(det: AnalogSmokeDetector, levels: list[tuple[float, float]]) -> list[tuple[float, str]]:
    return [(t, change) for t, lv in levels if (change := det.update(t, lv)) is not None]


def test_warmup_is_ignored() -> None:
    det = AnalogSmokeDetector(SmokeAnalogConfig(warmup_s=10, confirm_samples=2), started_at=100.0)
    assert run(det, [(100 + i * 0.5, 0.9) for i in range(20)]) == []
    assert run(det, [(110.0, 0.9), (110.5, 0.9)]) == [(110.5, "smoke")]


def test_confirmation_needs_consecutive_samples() -> None:
    det = AnalogSmokeDetector(SmokeAnalogConfig(warmup_s=0, confirm_samples=3), started_at=0.0)
    levels = [0.5, 0.5, 0.1, 0.5, 0.5, 0.5, 0.5]
    assert run(det, [(i, lv) for i, lv in enumerate(levels)]) == [(5, "smoke")]
    assert det.in_alarm


def test_hysteresis() -> None:
    cfg = SmokeAnalogConfig(warmup_s=0, confirm_samples=1, threshold=0.35, hysteresis=0.05)
    det = AnalogSmokeDetector(cfg, started_at=0.0)
    levels = [0.4, 0.34, 0.31, 0.36, 0.29, 0.33, 0.4]
    got = run(det, [(i, lv) for i, lv in enumerate(levels)])
    assert got == [(0, "smoke"), (4, "smoke_clear"), (6, "smoke")]


def test_non_finite_levels_are_skipped() -> None:
    det = AnalogSmokeDetector(SmokeAnalogConfig(warmup_s=0, confirm_samples=2), started_at=0.0)
    assert run(det, [(0, 0.5), (1, float("nan")), (2, 0.5)]) == [(2, "smoke")]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smoke_curves(seed: int) -> None:
    cfg = SmokeAnalogConfig(warmup_s=0)

    def changes(kind: str) -> list[str]:
        det = AnalogSmokeDetector(cfg, started_at=0.0)
        return [c for _, c in run(det, smoke_curve(kind, seed).points(cfg.sample_hz))]

    assert changes("toast") == ["smoke", "smoke_clear"]
    assert changes("steam") == []
    assert changes("smouldering") == ["smoke"]
    assert changes("flaming") == ["smoke"]


def test_compressed_curve_keeps_its_shape() -> None:
    fast = smoke_curve("toast", 1, scale=0.1)
    slow = smoke_curve("toast", 1)
    assert fast.duration == pytest.approx(slow.duration * 0.1)
    assert max(lv for _, lv in fast.points(20)) == pytest.approx(
        max(lv for _, lv in slow.points(2)), abs=0.05
    )
