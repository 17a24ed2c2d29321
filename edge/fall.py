"""Fall detection from trunk accelerometer samples, whatever the mounting and the sample rate.

Pure logic, no I/O: feed samples with `update`; see docs/fall.md for the algorithm.

Two paths share one state machine (O(1) time and memory per sample, 25-100 Hz or more,
irregular timestamps):

* **impact**: free fall (>= freefall_min_s below freefall_g), then |a| > impact_g within
  impact_window_s, then lying still for stillness_s;
* **slump** (no free fall): |a| >= slump_g, the trunk already turned by slump_turn_deg from
  its posture before, then lying still for slump_stillness_s in that new posture.

"Lying" is judged without assuming an axis: against the upright reference that the detector
learns from walking (`Posture`), and against the posture held before the event. Samples are
first averaged over `smoothing_s` (a common bandwidth), so 25 and 100 Hz see the same signal.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

from edge.posture import Posture, Vec, angle_deg
from protocol.device_config import FallConfig

MAX_GAP_S = 0.5
"""A gap between samples longer than this (lost data) resets the detector."""
PRE_WINDOW_S = (2.5, 1.25)
"""The posture before an event: the mean over this many seconds before it (from, to)."""
EARLY_S = 0.5
"""Slump: the posture right after settling (this long) must already be the final one."""
EARLY_MAX_DEG = 35.0
RECENT_S = 1.0
"""How much |a| history is kept to measure the width of an impact."""


@dataclass(frozen=True, slots=True)
class FallDetection:
    """A detected fall: when the impact happened, how hard, and which path found it."""

    t: float
    peak_g: float
    path: str = "impact"


class _Phase(Enum):
    IDLE = "idle"
    SETTLING = "settling"
    WAITING = "waiting"


@dataclass(slots=True)
class _Candidate:
    path: str
    t: float
    peak: float
    pre: Vec | None
    still_start: float | None = None
    still_sum: Vec = (0.0, 0.0, 0.0)


class FallDetector:
    """Streaming fall detector; one instance per accelerometer."""

    def __init__(self, config: FallConfig, upright_axis: str | None = None) -> None:
        # `upright_axis` is accepted for old callers and ignored: the reference is learned.
        del upright_axis
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far except the learned upright reference."""
        upright = getattr(self, "posture", None)
        self.posture = Posture(upright.upright if upright else None)
        self._window: deque[tuple[float, float, float, float]] = deque()
        self._sum = [0.0, 0.0, 0.0]
        self._last_t: float | None = None
        self._last_high_t: float | None = None
        self._low_first_t: float | None = None
        self._low_last_t = 0.0
        self._ff_end: float | None = None
        self._cand: _Candidate | None = None
        self._phase = _Phase.IDLE
        self._recent: deque[tuple[float, float]] = deque()  # (t, |a|) of the last second

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
        v = self._smooth(t, ax, ay, az)
        mag = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        self.posture.add(t, v, mag)
        self._recent.append((t, mag))
        while self._recent[0][0] < t - max(RECENT_S, self.config.settle_s + 0.5):
            self._recent.popleft()
        self._track_free_fall(t, mag)
        self._last_t = t
        self._check_trigger(t, mag)
        cand = self._cand
        if cand is None:
            return None
        if self._phase is _Phase.SETTLING:
            if t - cand.t >= self.config.settle_s:
                self._phase = _Phase.WAITING
                if self._impact_width(cand) >= self.config.soft_impact_s:
                    self._end()  # a long, soft landing: a bed or a sofa, not the floor
            return None
        return self._wait_for_stillness(cand, t, mag, v)

    def _smooth(self, t: float, ax: float, ay: float, az: float) -> Vec:
        """Average the vector over the last `smoothing_s` (at least the newest sample)."""
        win, s = self._window, self._sum
        win.append((t, ax, ay, az))
        s[0] += ax
        s[1] += ay
        s[2] += az
        while len(win) > 1 and win[0][0] <= t - self.config.smoothing_s + 1e-6:
            _, x, y, z = win.popleft()
            s[0] -= x
            s[1] -= y
            s[2] -= z
        n = len(win)
        return (s[0] / n, s[1] / n, s[2] / n)

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

    def _check_trigger(self, t: float, mag: float) -> None:
        """Start (or sharpen) a candidate on an impact after free fall or a slump-level peak."""
        cfg, cand = self.config, self._cand
        if self._ff_end is not None and t - self._ff_end > cfg.impact_window_s:
            self._ff_end = None
        if mag > cfg.impact_g and self._ff_end is not None:
            self._ff_end = None
            if cand is not None and cand.path == "impact" and self._phase is _Phase.SETTLING:
                if mag > cand.peak:
                    cand.peak, cand.t = mag, t
                return
            self._start(_Candidate("impact", t, mag, self._pre(t)))
            return
        if mag < cfg.slump_g:
            return
        if cand is not None and self._phase is _Phase.SETTLING:
            if mag > cand.peak:
                cand.peak, cand.t = mag, t
            return
        if cand is not None and cand.path == "impact":
            return  # moving while an impact waits for stillness: that path's own rules decide
        self._start(_Candidate("slump", t, mag, self._pre(t)))

    def _impact_width(self, cand: _Candidate) -> float:
        """Return how long |a| stayed above half the peak's excess around the peak (s)."""
        pts = [p for p in self._recent if p[0] >= cand.t - 0.3]
        if not pts:
            return 0.0
        half = 1.0 + (cand.peak - 1.0) / 2
        i = next((k for k, p in enumerate(pts) if p[0] >= cand.t), len(pts) - 1)
        a = b = i
        while a > 0 and pts[a - 1][1] > half:
            a -= 1
        while b < len(pts) - 1 and pts[b + 1][1] > half:
            b += 1
        lo = _cross(pts[a - 1], pts[a], half) if a > 0 else pts[a][0]
        hi = _cross(pts[b], pts[b + 1], half) if b < len(pts) - 1 else pts[b][0]
        return hi - lo

    def _pre(self, t: float) -> Vec | None:
        """Return the posture before an event (closer in if the record is short)."""
        pre = self.posture.mean(t - PRE_WINDOW_S[0], t - PRE_WINDOW_S[1])
        return pre if pre is not None else self.posture.mean(t - PRE_WINDOW_S[0], t - 0.5)

    def _start(self, cand: _Candidate) -> None:
        self._cand = cand
        self._phase = _Phase.SETTLING

    def _wait_for_stillness(
        self, cand: _Candidate, t: float, mag: float, v: Vec
    ) -> FallDetection | None:
        """Count stillness after the settle time; decide when it lasted long enough."""
        cfg = self.config
        need = cfg.stillness_s if cand.path == "impact" else cfg.slump_stillness_s
        if abs(mag - 1.0) > cfg.stillness_tolerance_g:
            cand.still_start = None
            if t - cand.t > cfg.settle_s + cfg.stillness_within_s:
                self._end()
            return None
        if cand.still_start is None:
            cand.still_start, cand.still_sum = t, (0.0, 0.0, 0.0)
        s = cand.still_sum
        cand.still_sum = (s[0] + v[0], s[1] + v[1], s[2] + v[2])
        if t - cand.still_start < need:
            return None
        self._end()
        if not self._lying(cand):
            return None
        return FallDetection(t=cand.t, peak_g=round(cand.peak, 3), path=cand.path)

    def _end(self) -> None:
        self._cand = None
        self._phase = _Phase.IDLE

    def _lying(self, cand: _Candidate) -> bool:
        """Tell whether the still posture is lying: far from upright and/or from before."""
        cfg = self.config
        if cfg.lying_angle_deg <= 0 and cand.path == "impact":
            return True
        still = cand.still_sum
        upright = self.posture.upright
        tilt = angle_deg(still, upright) if upright is not None else None
        turned = angle_deg(still, cand.pre) if cand.pre is not None else None
        if cand.path == "impact":
            return any(a is not None and a >= cfg.lying_angle_deg for a in (tilt, turned))
        if turned is None or turned < cfg.slump_turn_deg:
            return False
        if tilt is not None and tilt < cfg.lying_angle_deg:
            return False
        early = self.posture.mean(cand.t + cfg.settle_s, cand.t + cfg.settle_s + EARLY_S)
        return early is not None and angle_deg(early, still) <= EARLY_MAX_DEG


def _cross(p: tuple[float, float], q: tuple[float, float], level: float) -> float:
    """Return when the line from p to q (t, |a|) crosses `level` (linear interpolation)."""
    if q[1] == p[1]:
        return (p[0] + q[0]) / 2
    x = (level - p[1]) / (q[1] - p[1])
    return p[0] + min(max(x, 0.0), 1.0) * (q[0] - p[0])
