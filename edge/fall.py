"""Fall detection from accelerometer samples: free fall, then impact, then stillness.

Pure logic, no I/O: feed samples with `update`; see docs/fall.md for the algorithm.

The detector is a small state machine that costs O(1) time and memory per sample and works at
any sample rate of 25 Hz or more, with irregular timestamps:

    idle --(free fall >= freefall_min_s, then |a| > impact_g within impact_window_s)--> settling
    settling --(settle_s after the impact)--> waiting for stillness
    waiting --(|a| within 1 g +- tolerance for stillness_s, body lying)--> detection, idle
    waiting --(no stillness within stillness_within_s, or still but upright)--> idle

Durations are measured between sample midpoints, so a phase seen by few samples at 25 Hz is
neither over- nor under-counted by a whole sample period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from protocol.device_config import FallConfig

MAX_GAP_S = 0.5
"""A gap between samples longer than this (lost data) resets the detector."""

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True, slots=True)
class FallDetection:
    """A detected fall: when the impact happened and how hard it was."""

    t: float
    peak_g: float


class _Phase(Enum):
    IDLE = "idle"
    SETTLING = "settling"
    WAITING = "waiting"


class FallDetector:
    """Streaming fall detector; one instance per accelerometer."""

    def __init__(self, config: FallConfig, upright_axis: str = "z") -> None:
        if upright_axis not in _AXES:
            raise ValueError(f"upright_axis must be 'x', 'y' or 'z', not {upright_axis!r}")
        self.config = config
        self.upright_axis = upright_axis
        self._up = _AXES[upright_axis]
        self._cos_lying = math.cos(math.radians(config.lying_angle_deg))
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far (e.g. after a gap in the data)."""
        self._phase = _Phase.IDLE
        self._last_t: float | None = None
        self._last_high_t: float | None = None  # last sample at or above freefall_g
        self._low_first_t: float | None = None  # first sample of the current low run
        self._low_last_t = 0.0
        self._ff_end: float | None = None  # end of the last qualifying free fall
        self._impact_t = 0.0
        self._peak = 0.0
        self._still_start: float | None = None
        self._sum = [0.0, 0.0, 0.0]

    @property
    def phase(self) -> str:
        """Return the current phase: idle, settling or waiting (for stillness)."""
        return self._phase.value

    def update(self, t: float, ax: float, ay: float, az: float) -> FallDetection | None:
        """Feed one sample (t in seconds, a in g); return a detection when a fall completes."""
        last = self._last_t
        if last is not None and t <= last:
            return None  # duplicate or out-of-order sample: ignore it
        if last is not None and t - last > MAX_GAP_S:
            self.reset()
        mag = math.sqrt(ax * ax + ay * ay + az * az)
        self._track_free_fall(t, mag)
        self._last_t = t
        if self._phase is _Phase.IDLE:
            self._check_impact(t, mag)
            return None
        if self._phase is _Phase.SETTLING:
            if mag > self._peak:
                self._peak, self._impact_t = mag, t
            if t - self._impact_t >= self.config.settle_s:
                self._phase = _Phase.WAITING
                self._still_start = None
            return None
        return self._wait_for_stillness(t, mag, (ax, ay, az))

    def _track_free_fall(self, t: float, mag: float) -> None:
        """Follow runs of |a| < freefall_g and remember when a long enough one ended."""
        if mag < self.config.freefall_g:
            if self._low_first_t is None:
                self._low_first_t = t
            self._low_last_t = t
            return
        if self._low_first_t is not None:
            start = self._low_first_t
            if self._last_high_t is not None:
                start = (self._last_high_t + self._low_first_t) / 2
            end = (self._low_last_t + t) / 2
            if end - start >= self.config.freefall_min_s:
                self._ff_end = end
            self._low_first_t = None
        self._last_high_t = t

    def _check_impact(self, t: float, mag: float) -> bool:
        """Start settling if this sample is an impact soon after a free fall."""
        ff_end = self._ff_end
        if mag <= self.config.impact_g or ff_end is None:
            return False
        if t - ff_end > self.config.impact_window_s:
            self._ff_end = None
            return False
        self._ff_end = None
        self._phase = _Phase.SETTLING
        self._impact_t, self._peak = t, mag
        return True

    def _wait_for_stillness(
        self, t: float, mag: float, a: tuple[float, float, float]
    ) -> FallDetection | None:
        """Count stillness after the settle time; decide on a fall when it lasted long enough."""
        cfg = self.config
        if self._check_impact(t, mag):
            return None  # a new fall (free fall and impact) while waiting: start over
        if abs(mag - 1.0) > cfg.stillness_tolerance_g:
            self._still_start = None
            if t - self._impact_t > cfg.settle_s + cfg.stillness_within_s:
                self._phase = _Phase.IDLE
            return None
        if self._still_start is None:
            self._still_start = t
            self._sum = [0.0, 0.0, 0.0]
        self._sum[0] += a[0]
        self._sum[1] += a[1]
        self._sum[2] += a[2]
        if t - self._still_start < cfg.stillness_s:
            return None
        self._phase = _Phase.IDLE
        if not self._lying():
            return None
        return FallDetection(t=self._impact_t, peak_g=round(self._peak, 3))

    def _lying(self) -> bool:
        """Tell whether the mean gravity vector of the still phase is far from upright."""
        sx, sy, sz = self._sum
        norm = math.sqrt(sx * sx + sy * sy + sz * sz)
        if norm == 0.0:
            return False
        return self._sum[self._up] / norm <= self._cos_lying
