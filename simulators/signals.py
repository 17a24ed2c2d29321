"""Synthetic sensor signals: torso accelerometer traces of daily activities and falls, smoke curves.

Motion is a chain of segments; each is a continuous function of time giving the trunk's tilt
(`theta` from upright, towards direction `phi`: 0 forward, pi backward, +-pi/2 sideways) and
its linear acceleration in the world frame (g, z up). A sensor worn on the trunk (x forward,
y left, z up when standing) reads the specific force `a + g` rotated into the body frame, plus
white noise. Because segments are functions of time, a timeline can be sampled at any rate,
with jittered (irregular) timestamps, and a fall's impact is known exactly (labels).

Smoke curves give a sensor level 0-1 against time for burnt toast, cooking steam, a smouldering
fire and a flaming fire.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

Pose = tuple[float, float, float, float, float]
"""theta, phi (rad), world acceleration ax, ay, az (g) without gravity."""
Sample = tuple[float, float, float, float]
"""t (s), sensor ax, ay, az (g)."""

FALL_KINDS = ("forward", "backward", "sideways", "slide", "recovery")
SLUMP_KINDS = ("slump",)
"""Falls without a free-fall phase: the trunk turns to lying within about a second."""
ADL_KINDS = (
    "walk", "sit", "stand_up", "lie_bed", "flop_bed", "stairs", "sit_hard", "stumble", "jump",
    "bend", "roll_bed",
)  # fmt: skip
SMOKE_KINDS = ("toast", "steam", "smouldering", "flaming")
UPRIGHT = 0.08


@dataclass(frozen=True, slots=True)
class FallLabel:
    """Ground truth of one fall inserted in a timeline."""

    kind: str
    impact_t: float
    peak_g: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of motion: `fn(u)` gives the pose u seconds after `start`."""

    start: float
    duration: float
    fn: Callable[[float], Pose]


def _bump(u: float, centre: float, width: float) -> float:
    """Half-sine pulse of height 1 centred at `centre`, `width` wide."""
    x = (u - centre) / width
    return math.cos(math.pi * x) if -0.5 < x < 0.5 else 0.0


def _ease(u: float, start: float, length: float) -> float:
    """Smooth step from 0 (before `start`) to 1 (after `start + length`)."""
    x = min(max((u - start) / length, 0.0), 1.0) if length > 0 else float(u >= start)
    return x * x * (3 - 2 * x)


def _wobble(
    rng: random.Random, amp: float, lo: float = 0.1, hi: float = 1.5
) -> Callable[..., float]:
    """Return a smooth random sway: a sum of three sinusoids of total amplitude ~`amp`."""
    parts = [
        (amp / 3 * rng.uniform(0.5, 1.5), rng.uniform(lo, hi), rng.uniform(0, 6.3))
        for _ in range(3)
    ]
    return lambda u: sum(a * math.sin(2 * math.pi * f * u + p) for a, f, p in parts)


def to_sensor(pose: Pose) -> tuple[float, float, float]:
    """Rotate the specific force (a + g, world frame) into the tilted body frame."""
    theta, phi, ax, ay, az = pose
    vx, vy, vz = ax, ay, az + 1.0
    kx, ky = -math.sin(phi), math.cos(phi)  # tilt axis, horizontal
    c, s = math.cos(theta), math.sin(theta)
    cross = (ky * vz, -kx * vz, kx * vy - ky * vx)  # k x v (k has no z part)
    dot = kx * vx + ky * vy
    return (
        vx * c - cross[0] * s + kx * dot * (1 - c),
        vy * c - cross[1] * s + ky * dot * (1 - c),
        vz * c - cross[2] * s,
    )


@dataclass
class Trace:
    """Sampled accelerometer data with the falls it contains."""

    samples: list[Sample]
    falls: list[FallLabel] = field(default_factory=list)

    def write_csv(self, path: Path) -> None:
        """Write the trace as CSV with columns t,ax,ay,az (the `detect-falls` format)."""
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(("t", "ax", "ay", "az"))
            out.writerows(
                (f"{t:.4f}", f"{x:.4f}", f"{y:.4f}", f"{z:.4f}") for t, x, y, z in self.samples
            )


class Timeline:
    """Build a seeded sequence of activities and falls, then sample it at any rate."""

    def __init__(
        self,
        seed: int | random.Random = 0,
        *,
        noise_g: float = 0.015,
        impact_scale: float = 1.0,
        time_scale: float = 1.0,
    ) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.noise_g = noise_g
        self.impact_scale = impact_scale
        """Multiplies every impact's excess over 1 g (harder or softer floors and bodies)."""
        self.time_scale = time_scale
        """Multiplies drop and impact durations (faster or slower falls)."""
        self.segments: list[Segment] = []
        self.falls: list[FallLabel] = []
        self.theta = UPRIGHT
        self.phi = 0.0
        self._last_peak = 1.0

    @property
    def now(self) -> float:
        """Return the end time of the timeline so far (s)."""
        last = self.segments[-1] if self.segments else None
        return last.start + last.duration if last else 0.0

    def _add(self, duration: float, fn: Callable[[float], Pose], theta: float, phi: float) -> None:
        self.segments.append(Segment(self.now, duration, fn))
        self.theta, self.phi = theta, phi

    def rest(self, seconds: float) -> Timeline:
        """Stay in the current posture with slight sway and breathing."""
        th, ph, sway = self.theta, self.phi, _wobble(self.rng, 0.02)
        jig = _wobble(self.rng, 0.012, 0.2, 0.5)
        self._add(seconds, lambda u: (th + sway(u), ph, jig(u), 0.0, jig(u + 7)), th, ph)
        return self

    def walk(self, seconds: float, *, stairs_down: bool = False) -> Timeline:
        """Walk (or go down stairs): step bounce, sway and heel strikes."""
        r = self.rng
        f = r.uniform(1.3, 1.6) if stairs_down else r.uniform(1.4, 1.9)
        av = r.uniform(0.3, 0.45) if stairs_down else r.uniform(0.12, 0.3)
        af, al, lean = r.uniform(0.06, 0.15), r.uniform(0.03, 0.08), r.uniform(0.05, 0.15)
        heel_hi = 0.7 if stairs_down else 0.45
        heels = [r.uniform(0.15, heel_hi) for _ in range(int(seconds * f) + 2)]
        th0, p2 = self.theta, r.uniform(0, 6.3)

        def fn(u: float) -> Pose:
            ramp = _ease(u, 0, 0.5) * (1 - _ease(u, seconds - 0.5, 0.5))
            ph = 2 * math.pi * f * u
            step = int(u * f)
            heel = heels[step] * _bump(u * f - step, 0.15, 0.08)
            az = ramp * (av * math.sin(ph) + 0.3 * av * math.sin(2 * ph + p2) + heel)
            th = th0 + (lean - th0) * _ease(u, 0, 0.5) + 0.03 * math.sin(ph)
            return th, 0.0, ramp * af * math.cos(ph), ramp * al * math.sin(ph / 2), az

        self._add(seconds, fn, lean, 0.0)
        return self

    def _transfer(self, seconds: float, flex: float, end: float, dip: float, land: float) -> None:
        """Trunk flexes forward then settles at `end` while the body moves down (dip<0) or up."""
        th0 = self.theta

        def fn(u: float) -> Pose:
            x = u / seconds
            th = th0 + (flex - th0) * _ease(x, 0, 0.4) + (end - flex) * _ease(x, 0.45, 0.5)
            az = dip * _bump(x, 0.45, 0.4) + land * _bump(u, 0.72 * seconds, 0.09)
            return th, 0.0, 0.05 * _bump(x, 0.3, 0.4), 0.0, az

        self._add(seconds, fn, end, 0.0)

    def sit_down(self) -> Timeline:
        """Sit down on a chair in about two seconds."""
        r = self.rng
        self._transfer(
            r.uniform(1.8, 2.6),
            r.uniform(0.5, 0.7),
            r.uniform(0.1, 0.35),
            -r.uniform(0.25, 0.4),
            r.uniform(0.3, 0.7),
        )
        return self

    def stand_up(self) -> Timeline:
        """Stand up from a chair (or the bed's edge)."""
        r = self.rng
        self._transfer(
            r.uniform(1.5, 2.5),
            r.uniform(0.5, 0.7),
            UPRIGHT,
            r.uniform(0.2, 0.35),
            -r.uniform(0.1, 0.2),
        )
        return self

    def sit_hard(self) -> Timeline:
        """Drop heavily onto a chair: a short free fall and an impact, then sitting upright."""
        r = self.rng
        drop, peak = r.uniform(0.18, 0.32), r.uniform(1.8, 3.2)
        self._drop(
            0.3,
            drop,
            r.uniform(0.5, 0.85),
            [(peak, r.uniform(0.06, 0.12), 0.0)],
            r.uniform(0.1, 0.3),
            0.0,
            0.06,
        )
        return self

    def stumble(self) -> Timeline:
        """Trip and catch oneself: a short drop and a hard step (2-3.5 g), then walk on."""
        r = self.rng
        impacts = [(r.uniform(2.0, 3.5), r.uniform(0.05, 0.1), 0.0)]
        self._drop(0.2, r.uniform(0.12, 0.3), r.uniform(0.5, 0.8), impacts, 0.3, 0.0, 0.0)
        return self.walk(r.uniform(3.0, 10.0))

    def lie_down(self, *, flop: bool = False) -> Timeline:
        """Lie down on a bed: sit on its edge and recline, or flop onto it from standing."""
        r = self.rng
        phi = r.choice((math.pi, math.pi / 2, -math.pi / 2))
        end = r.uniform(1.45, 1.65)
        if flop:
            peak = r.triangular(1.3, 2.4, 1.7)
            self._drop(
                0.6,
                r.uniform(0.2, 0.35),
                r.uniform(0.35, 0.7),
                [(peak, r.uniform(0.15, 0.3), 0.0)],
                end,
                phi,
                0.1,
            )
            return self
        self.sit_down()
        th0, secs, land = self.theta, r.uniform(2.0, 3.0), r.uniform(0.1, 0.3)

        def fn(u: float) -> Pose:
            x = u / secs
            th = th0 * (1 - _ease(x, 0, 0.3)) + end * _ease(x, 0.2, 0.7)
            return th, phi, 0.0, 0.0, -0.1 * _bump(x, 0.5, 0.4) + land * _bump(x, 0.9, 0.1)

        self._add(secs, fn, end, phi)
        return self

    def jump(self) -> Timeline:
        """Jump on the spot (or off a step): crouch, push off, flight, landing of 2.5-5 g."""
        r = self.rng
        flight, peak = r.uniform(0.15, 0.35), r.uniform(2.5, 5.0)
        push = r.uniform(0.6, 1.0)
        th0, secs = self.theta, 0.6 + flight + 0.6
        land_w = r.uniform(0.05, 0.1)

        def fn(u: float) -> Pose:
            # crouch (-), push off (+), flight (|a| ~ 0), landing impact, absorb
            az = -0.3 * _bump(u, 0.15, 0.3) + push * _bump(u, 0.45, 0.25)
            if 0.6 <= u < 0.6 + flight:
                az = -0.97
            az += (peak - 1) * _bump(u, 0.6 + flight + land_w / 2, land_w)
            az -= 0.2 * _bump(u, 0.6 + flight + 0.25, 0.3)
            return th0 + 0.3 * _bump(u, 0.2, 0.4), 0.0, 0.0, 0.0, az

        self._add(secs, fn, th0, 0.0)
        return self

    def bend(self) -> Timeline:
        """Bend over to pick something up (trunk 60-100 degrees), pause, straighten up."""
        r = self.rng
        th0, deep, hold = self.theta, r.uniform(1.0, 1.75), r.uniform(0.5, 3.0)
        down, up = r.uniform(0.8, 1.5), r.uniform(0.8, 1.5)
        secs = down + hold + up

        def fn(u: float) -> Pose:
            th = th0 + (deep - th0) * (_ease(u, 0, down) - _ease(u, down + hold, up))
            return th, 0.0, 0.05 * _bump(u, down / 2, down), 0.0, 0.0

        self._add(secs, fn, th0, 0.0)
        return self

    def roll_over(self) -> Timeline:
        """Turn over while lying (in bed): the trunk turns about its long axis."""
        r = self.rng
        th, ph0 = self.theta, self.phi
        ph1 = ph0 + r.choice((-1, 1)) * r.uniform(1.2, 3.1)
        secs = r.uniform(1.5, 4.0)
        jig = _wobble(r, 0.08, 0.5, 2.0)

        def fn(u: float) -> Pose:
            return th, ph0 + (ph1 - ph0) * _ease(u, 0, secs), jig(u), jig(u + 2), jig(u + 4)

        self._add(secs, fn, th, ph1)
        return self

    def get_up(self) -> Timeline:
        """Get up from lying (bed or floor): roll, push up to sitting or kneeling, stand."""
        r = self.rng
        th0, ph, secs = self.theta, self.phi, r.uniform(2.5, 4.5)
        jig = _wobble(r, 0.15, 0.5, 2.0)

        def fn(u: float) -> Pose:
            x = u / secs
            th = th0 + (0.5 - th0) * _ease(x, 0.1, 0.8)
            return th, ph, jig(u), jig(u + 3), 0.6 * jig(u + 5) + 0.2 * _bump(x, 0.6, 0.3)

        self._add(secs, fn, 0.5, 0.0)
        return self.stand_up()

    def _drop(
        self,
        lead: float,
        drop: float,
        depth: float,
        impacts: list[tuple[float, float, float]],
        end: float,
        phi: float,
        turn_extra_s: float,
    ) -> float:
        """Tilt to `end` during the drop; dip to 1-depth g; impacts are (peak g, width, delay)."""
        th0, h, ts = self.theta, self.rng.uniform(0.2, 0.5), self.time_scale
        lead, drop, turn_extra_s = lead * ts, drop * ts, turn_extra_s * ts
        impacts = [(1 + (p - 1) * self.impact_scale, w * ts, d * ts) for p, w, d in impacts]
        hit = lead + drop
        secs = hit + max(d + w for _, w, d in impacts) + 0.3
        # vertical pulse height A so that |(h*A, A + 1)| equals the peak
        pulses = [
            ((-1 + math.sqrt(1 + (1 + h * h) * (p * p - 1))) / (1 + h * h), w, hit + d)
            for p, w, d in impacts
        ]

        def fn(u: float) -> Pose:
            th = th0 + (end - th0) * _ease(u, lead - 0.2, drop + 0.2 + turn_extra_s)
            knock = sum(a * _bump(u, at, w) for a, w, at in pulses)
            az = knock - depth * _bump(u, lead + drop / 2, drop)
            return th, phi, h * knock * math.cos(phi), h * knock * math.sin(phi), az

        self._add(secs, fn, end, phi)
        self._last_peak = max(p for p, _, _ in impacts)
        return hit

    def fall(self, kind: str) -> Timeline:
        """Insert a fall of FALL_KINDS or SLUMP_KINDS (`slide` and half the slumps sit first)."""
        if kind not in FALL_KINDS + SLUMP_KINDS:
            known = ", ".join(FALL_KINDS + SLUMP_KINDS)
            raise ValueError(f"unknown fall kind {kind!r}; use one of {known}")
        r = self.rng
        if kind == "slide" or (kind == "slump" and r.random() < 0.5):
            self.sit_down().rest(r.uniform(2, 6))
        lead, drop, depth, end, phi, impacts = self._fall_shape(kind)
        start = self.now
        turn = r.uniform(0.3, 0.9) if kind == "slump" else 0.1
        hit = self._drop(lead, drop, depth, impacts, end, phi, turn)
        self.falls.append(FallLabel(kind, start + hit, self._last_peak))
        self._groan(r.uniform(0.0, 0.8))
        if kind == "recovery":
            self.rest(r.uniform(4.5, 12.0)).get_up()
        return self

    def _fall_shape(
        self, kind: str
    ) -> tuple[float, float, float, float, float, list[tuple[float, float, float]]]:
        """Draw lead, drop, depth, final tilt, direction and impacts for a fall of `kind`."""
        r, u = self.rng, self.rng.uniform
        if kind == "slump":  # faint or legs give way: knees then hip, no free fall
            impacts = [(u(1.3, 2.0), u(0.08, 0.2), 0.0), (u(1.2, 1.8), u(0.08, 0.2), u(0.2, 0.5))]
            phi = r.choice((0.0, math.pi, math.pi / 2, -math.pi / 2))
            return u(0.3, 0.8), u(0.5, 1.0), u(0.1, 0.3), u(1.2, 1.65), phi, impacts
        if kind == "slide":  # short drop from the seat, one landing on the buttocks, slumped
            impacts = [(u(2.0, 3.2), u(0.06, 0.12), 0.0)]
            return 1.2, u(0.3, 0.45), u(0.45, 0.75), u(1.0, 1.5), 0.0, impacts
        if kind == "backward":  # buttocks first, then the back
            impacts = [(u(2.3, 4.5), u(0.05, 0.1), 0.0), (u(1.8, 3.5), u(0.05, 0.1), u(0.15, 0.3))]
            return 0.4, u(0.35, 0.6), u(0.55, 0.9), u(1.4, 1.7), math.pi, impacts
        side = kind == "sideways" or (kind == "recovery" and r.random() < 0.5)
        impacts = [(u(2.5, 6.0), u(0.05, 0.12), 0.0), (u(1.3, 2.0), u(0.05, 0.1), u(0.15, 0.3))]
        lead, drop, depth, end = u(0.3, 0.6), u(0.35, 0.6), u(0.55, 0.9), u(1.3, 1.7)
        phi = r.choice((math.pi / 2, -math.pi / 2)) if side else 0.0
        return lead, drop, depth, end, phi, impacts

    def _groan(self, seconds: float) -> None:
        """Small movements right after a fall."""
        if seconds <= 0:
            return
        th, ph, jig = self.theta, self.phi, _wobble(self.rng, 0.1, 0.5, 2.0)
        self._add(
            seconds, lambda u: (th + 0.05 * jig(u), ph, jig(u), jig(u + 1), jig(u + 2)), th, ph
        )

    def _at(self, t: float, index: int) -> tuple[tuple[float, float, float], int]:
        """Return the body-frame reading at t, searching segments from `index` on."""
        segs = self.segments
        while index > 0 and t < segs[index].start:
            index -= 1
        while index < len(segs) - 1 and t >= segs[index].start + segs[index].duration:
            index += 1
        seg = segs[index]
        return to_sensor(seg.fn(min(t - seg.start, seg.duration))), index

    def samples(
        self,
        rate_hz: float,
        *,
        jitter: float = 0.0,
        seed: int = 0,
        mount: Mount | None = None,
        bias: tuple[float, float, float] = (0.0, 0.0, 0.0),
        antialias: bool = False,
    ) -> Iterator[Sample]:
        """Yield (t, ax, ay, az) at `rate_hz`; `jitter` (0-0.9) varies each interval by +-that.

        `mount` rotates the body frame into the sensor's (how the device is worn), `bias` is
        added to every axis (g), `antialias` averages the signal over each sample interval as
        a sensor's low-pass filter does (otherwise point samples: short impacts can be missed).
        """
        rng, noise, step = random.Random(seed), self.noise_g, 1.0 / rate_hz
        subs = max(1, round(100 / rate_hz)) if antialias else 1
        t, index, end = 0.0, 0, self.now
        while self.segments and t < end:
            acc = [0.0, 0.0, 0.0]
            for k in range(subs):
                v, index = self._at(max(0.0, t - step * (subs - 1 - k) / subs), index)
                acc = [a + b for a, b in zip(acc, v, strict=True)]
            x, y, z = (a / subs for a in acc)
            if mount is not None:
                x, y, z = mount.apply((x, y, z))
            yield (
                t,
                x + bias[0] + rng.gauss(0, noise),
                y + bias[1] + rng.gauss(0, noise),
                z + bias[2] + rng.gauss(0, noise),
            )
            t += step * (1 + jitter * rng.uniform(-1, 1)) if jitter else step
            if not jitter:
                t = round(t * rate_hz) / rate_hz

    def trace(self, rate_hz: float, *, jitter: float = 0.0, seed: int = 0) -> Trace:
        """Sample the whole timeline into a Trace carrying the fall labels."""
        return Trace(list(self.samples(rate_hz, jitter=jitter, seed=seed)), list(self.falls))


@dataclass(frozen=True, slots=True)
class Mount:
    """How the device sits on the body: a rotation from the body frame to the sensor frame."""

    m: tuple[tuple[float, float, float], ...]

    @classmethod
    def random(cls, rng: random.Random) -> Mount:
        """Return a uniformly random rotation (from a random unit quaternion)."""
        q = [rng.gauss(0, 1) for _ in range(4)]
        n = math.sqrt(sum(c * c for c in q))
        w, x, y, z = (c / n for c in q)
        return cls(
            (
                (1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
                (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
                (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)),
            )
        )

    def apply(self, v: tuple[float, float, float]) -> tuple[float, float, float]:
        """Rotate a body-frame vector into the sensor frame."""
        r0, r1, r2 = self.m
        return (
            r0[0] * v[0] + r0[1] * v[1] + r0[2] * v[2],
            r1[0] * v[0] + r1[1] * v[1] + r1[2] * v[2],
            r2[0] * v[0] + r2[1] * v[1] + r2[2] * v[2],
        )


def activity(kind: str, seed: int = 0) -> Timeline:
    """Return a short timeline of one activity or fall, with standing/resting before and after."""
    tl = Timeline(seed).rest(2.0)
    if kind in FALL_KINDS + SLUMP_KINDS:
        tl.walk(3.0).fall(kind)
        return tl.rest(8.0)
    actions: dict[str, Callable[[], object]] = {
        "walk": lambda: tl.walk(20.0),
        "sit": lambda: tl.sit_down().rest(6.0).stand_up(),
        "stand_up": lambda: tl.sit_down().rest(3.0).stand_up(),
        "lie_bed": lambda: tl.walk(3.0).lie_down().rest(10.0).get_up(),
        "flop_bed": lambda: tl.lie_down(flop=True).rest(10.0).get_up(),
        "stairs": lambda: tl.walk(15.0, stairs_down=True),
        "sit_hard": lambda: tl.walk(3.0).sit_hard().rest(8.0).stand_up(),
        "stumble": lambda: tl.walk(4.0).stumble(),
        "jump": lambda: tl.walk(3.0).jump().rest(4.0).jump().walk(3.0),
        "bend": lambda: tl.walk(3.0).bend().rest(3.0),
        "roll_bed": lambda: tl.walk(3.0).lie_down().rest(5.0).roll_over().rest(8.0).get_up(),
    }
    if kind not in actions:
        raise ValueError(
            f"unknown activity {kind!r}; use one of "
            f"{', '.join(ADL_KINDS + FALL_KINDS + SLUMP_KINDS)}"
        )
    actions[kind]()
    return tl.rest(3.0)


@dataclass(frozen=True)
class SmokeCurve:
    """A smoke sensor level (0-1) as a function of seconds since the source started."""

    kind: str
    duration: float
    peak: float
    rise_s: float
    hold_s: float
    decay_s: float
    wobble: Callable[..., float]
    baseline: float = 0.05

    def level(self, t: float) -> float:
        """Return the level t seconds after the source started (baseline before and after)."""
        if t <= 0:
            return self.baseline
        up = _ease(t, 0, self.rise_s)
        down = 1 - _ease(t, self.rise_s + self.hold_s, self.decay_s) if self.decay_s else 1.0
        value = self.baseline + (self.peak - self.baseline) * up * down + self.wobble(t) * up
        return min(max(value, 0.0), 1.0)

    def points(self, hz: float = 2.0) -> list[tuple[float, float]]:
        """Return (t, level) pairs over the curve's duration."""
        return [(i / hz, self.level(i / hz)) for i in range(int(self.duration * hz) + 1)]


def smoke_curve(kind: str, seed: int = 0, *, scale: float = 1.0) -> SmokeCurve:
    """Return a seeded smoke curve; `scale` < 1 compresses time (demos), peaks stay."""
    r = random.Random(seed)
    wob = _wobble(r, 0.02, 0.02, 0.2)
    shapes = {  # peak, rise, hold, decay (s at scale 1)
        "toast": (r.uniform(0.42, 0.55), r.uniform(20, 40), r.uniform(10, 25), r.uniform(60, 120)),
        "steam": (
            r.uniform(0.18, 0.27),
            r.uniform(60, 120),
            r.uniform(300, 600),
            r.uniform(120, 240),
        ),
        "smouldering": (r.uniform(0.7, 0.85), r.uniform(600, 1200), 3600.0, 0.0),
        "flaming": (r.uniform(0.85, 0.95), r.uniform(30, 60), 3600.0, 0.0),
    }
    if kind not in shapes:
        raise ValueError(f"unknown smoke curve {kind!r}; use one of {', '.join(SMOKE_KINDS)}")
    peak, rise, hold, decay = shapes[kind]
    rise, hold, decay = rise * scale, hold * scale, decay * scale
    if kind == "steam":
        wob = _wobble(r, 0.06, 0.01, 0.05)
    return SmokeCurve(kind, rise + hold + decay, peak, rise, hold, decay, wob)
