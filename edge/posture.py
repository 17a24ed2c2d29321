"""Where "up" is for a sensor worn in any orientation, learned from the signal itself.

The trunk is upright while its wearer walks. `Posture` keeps quarter-second means of the
acceleration vector (the last 12 s) and, whenever the last `WALK_S` look like walking (mean
|a| about 1 g, a step rhythm's spread, a steady direction), moves its upright reference
towards the mean direction of that stretch. Until the wearer has walked, `upright` is None and
the fall detector relies on the change of posture alone.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

Vec = tuple[float, float, float]

BUCKET_S = 0.25
HISTORY_S = 12.0
WALK_S = 3.0
"""This long of walking-like signal (sustained) before the reference moves."""
WALK_MEAN_G = (0.92, 1.12)
WALK_STD_G = (0.06, 0.6)
WALK_STEADY_DEG = 15.0
ALPHA = 0.05
"""Weight of each new quarter-second of walking in the reference (about 5 s of walking)."""


def angle_deg(a: Vec, b: Vec) -> float:
    """Return the angle between two vectors in degrees (0 if either is zero)."""
    na = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    nb = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    if na == 0.0 or nb == 0.0:
        return 0.0
    c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def _unit(v: Vec) -> Vec:
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) or 1.0
    return (v[0] / n, v[1] / n, v[2] / n)


@dataclass(slots=True)
class _Bucket:
    t0: float
    n: int = 0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    m: float = 0.0
    m2: float = 0.0


class Posture:
    """Quarter-second posture history and the learned upright direction."""

    def __init__(self, upright: Vec | None = None) -> None:
        self.upright = upright
        self._buckets: deque[_Bucket] = deque(maxlen=int(HISTORY_S / BUCKET_S))
        self._walk_run = 0

    def add(self, t: float, v: Vec, mag: float) -> None:
        """Add one (smoothed) sample and its magnitude."""
        b = self._buckets[-1] if self._buckets else None
        if b is None or t >= b.t0 + BUCKET_S:
            if b is not None:
                self._judge_walking()
            b = _Bucket(t0=t if b is None or t >= b.t0 + 2 * BUCKET_S else b.t0 + BUCKET_S)
            self._buckets.append(b)
        b.n += 1
        b.x += v[0]
        b.y += v[1]
        b.z += v[2]
        b.m += mag
        b.m2 += mag * mag

    def mean(self, start: float, end: float) -> Vec | None:
        """Return the mean vector of the buckets that start within [start, end), or None."""
        n, x, y, z = 0, 0.0, 0.0, 0.0
        for b in self._buckets:
            if start <= b.t0 < end or (b.t0 <= start < b.t0 + BUCKET_S):
                n, x, y, z = n + b.n, x + b.x, y + b.y, z + b.z
        return (x / n, y / n, z / n) if n else None

    def _judge_walking(self) -> None:
        """After each completed bucket: does the last WALK_S look like walking?"""
        k = int(WALK_S / BUCKET_S)
        recent = list(self._buckets)[-k:]
        if len(recent) < k or any(b.n == 0 for b in recent):
            self._walk_run = 0
            return
        n = sum(b.n for b in recent)
        mean = sum(b.m for b in recent) / n
        var = max(0.0, sum(b.m2 for b in recent) / n - mean * mean)
        half = k // 2
        first = _sum(recent[:half])
        second = _sum(recent[half:])
        steady = angle_deg(first, second) <= WALK_STEADY_DEG
        walking = (
            WALK_MEAN_G[0] <= mean <= WALK_MEAN_G[1]
            and WALK_STD_G[0] <= math.sqrt(var) <= WALK_STD_G[1]
            and steady
        )
        if not walking:
            self._walk_run = 0
            return
        self._walk_run += 1
        direction = _unit(_sum(recent))
        up = self.upright
        if up is None:
            self.upright = direction
        else:
            self.upright = _unit(
                (
                    up[0] * (1 - ALPHA) + direction[0] * ALPHA,
                    up[1] * (1 - ALPHA) + direction[1] * ALPHA,
                    up[2] * (1 - ALPHA) + direction[2] * ALPHA,
                )
            )


def _sum(buckets: list[_Bucket]) -> Vec:
    return (sum(b.x for b in buckets), sum(b.y for b in buckets), sum(b.z for b in buckets))
