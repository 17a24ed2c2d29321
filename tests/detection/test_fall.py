"""Fall detector on synthetic traces worn in any orientation at 25-100 Hz: no alarms for daily
activities, one per fall, also for falls without a free-fall phase (slumps)."""

from __future__ import annotations

import random

import pytest

from edge.fall import FallDetection, FallDetector
from protocol.device_config import FallConfig
from simulators.signals import ADL_KINDS, FALL_KINDS, Mount, Timeline, activity


def worn(tl: Timeline, seed: int) -> Timeline:
    """Prefix a timeline with a walk (the detector learns 'upright' from walking)."""
    out = Timeline(seed + 1000).rest(1.0).walk(8.0)
    offset = out.now
    out.segments += [type(s)(s.start + offset, s.duration, s.fn) for s in tl.segments]
    out.falls = [type(f)(f.kind, f.impact_t + offset, f.peak_g) for f in tl.falls]
    return out


def detect(
    tl: Timeline,
    rate_hz: float,
    *,
    jitter: float = 0.0,
    mount_seed: int | None = 0,
    config: FallConfig | None = None,
) -> list[FallDetection]:
    detector = FallDetector(config or FallConfig())
    mount = None if mount_seed is None else Mount.random(random.Random(mount_seed))
    samples = tl.samples(rate_hz, jitter=jitter, seed=3, mount=mount, antialias=True)
    return [hit for s in samples if (hit := detector.update(*s)) is not None]


@pytest.mark.parametrize("kind", [k for k in ADL_KINDS if k != "flop_bed"])
@pytest.mark.parametrize("rate_hz", [25, 100])
def test_daily_activity_is_not_a_fall(kind: str, rate_hz: int) -> None:
    for seed in (0, 1):
        assert detect(worn(activity(kind, seed), seed), rate_hz, jitter=0.2, mount_seed=seed) == []


@pytest.mark.parametrize("kind", [k for k in FALL_KINDS if k != "slide"])
@pytest.mark.parametrize("rate_hz", [25, 50, 100])
def test_each_fall_is_detected_once_near_the_impact(kind: str, rate_hz: int) -> None:
    for seed in (0, 1):
        tl = worn(activity(kind, seed), seed)
        hits = detect(tl, rate_hz, mount_seed=seed + 7)
        assert len(hits) == 1
        (label,) = tl.falls
        assert abs(hits[0].t - label.impact_t) < 0.2
        assert hits[0].peak_g > FallConfig().impact_g


@pytest.mark.parametrize("rate_hz", [25, 100])
def test_slump_without_free_fall_is_found_by_the_orientation_path(rate_hz: int) -> None:
    tl = worn(activity("slump", 3), 3)
    (hit,) = detect(tl, rate_hz)
    assert hit.path == "slump"
    assert abs(hit.t - tl.falls[0].impact_t) < 1.0


def test_mounting_does_not_matter() -> None:
    """The same fall and the same jumps, worn in 12 random orientations."""
    fall = worn(activity("sideways", 6), 6)
    jumps = worn(activity("jump", 6), 6)
    for mount_seed in range(12):
        assert len(detect(fall, 50, mount_seed=mount_seed)) == 1
        assert detect(jumps, 50, mount_seed=mount_seed) == []


def test_upright_is_learned_from_walking() -> None:
    detector = FallDetector(FallConfig())
    mount = Mount.random(random.Random(5))
    for s in Timeline(5).rest(1).walk(10).samples(50, mount=mount):
        detector.update(*s)
    up = detector.posture.upright
    assert up is not None
    expected = mount.apply((0.0, 0.0, 1.0))
    cos = sum(a * b for a, b in zip(up, expected, strict=True))
    assert cos > 0.97  # within ~14 degrees (the walker leans a little forward)


def test_irregular_timestamps() -> None:
    tl = worn(activity("forward", 4), 4)
    hits = detect(tl, 40, jitter=0.5)
    assert len(hits) == 1
    assert abs(hits[0].t - tl.falls[0].impact_t) < 0.2


def test_duplicate_and_out_of_order_samples_are_ignored() -> None:
    tl = worn(activity("forward", 5), 5)
    detector = FallDetector(FallConfig())
    hits = []
    previous = None
    for sample in tl.samples(50):
        for s in (sample, sample, previous) if previous else (sample,):
            if (hit := detector.update(*s)) is not None:
                hits.append(hit)
        previous = sample
    assert len(hits) == 1


def test_hard_sit_needs_the_lying_check() -> None:
    """A drop onto a chair passes free fall, impact and stillness; only posture rejects it."""
    no_lying = FallConfig(lying_angle_deg=0)
    tls = [worn(Timeline(seed).rest(2).sit_hard().rest(6), seed) for seed in range(8)]
    assert sum(len(detect(tl, 50, mount_seed=i)) for i, tl in enumerate(tls)) == 0
    without = sum(len(detect(tl, 50, mount_seed=i, config=no_lying)) for i, tl in enumerate(tls))
    assert without > 0


def test_gap_in_data_resets() -> None:
    """A long gap between free fall and impact (lost samples) must not make a fall."""
    detector = FallDetector(FallConfig())
    t = 0.0
    for _ in range(20):  # free fall
        assert detector.update(t, 0.0, 0.0, 0.2) is None
        t += 0.02
    t += 0.6  # gap longer than MAX_GAP_S, still within impact_window_s
    assert detector.update(t, 0.0, 0.0, 3.0) is None
    for _ in range(300):  # then lying still for 6 s: no fall without the history
        t += 0.02
        assert detector.update(t, 1.0, 0.0, 0.0) is None


def test_stumble_reaches_impact_but_not_stillness() -> None:
    """Tripping and catching oneself has free fall and impact; walking on must cancel it."""
    reached_impact = 0
    for seed in range(6):
        detector = FallDetector(FallConfig())
        phases = set()
        for sample in worn(activity("stumble", seed), seed).samples(50):
            assert detector.update(*sample) is None
            phases.add(detector.phase)
        reached_impact += "settling" in phases
    assert reached_impact >= 3
