"""Scenarios as data: timed steps played against virtual homes (`simulators/scenarios/*.yaml`).

```yaml
name: demo
steps:
  - {at: 3.0, home: 0, action: press_call}
  - {at: 8.0, home: home-b1-302, action: fall, kind: backward}
  - {at: 20.0, action: fire, building: 1}
```

`home` is a device id or an index into the homes (0 = first home). Each action has its own
parameters; unknown keys are errors that name the step, and `load_scenario` reports them as a
`ConfigError` through `protocol.config_file.load_model`. `play` starts every step at its time in
its own named task, so a step that waits (a cancelled fall) never delays the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.config_file import load_model
from simulators.home import VirtualHome
from simulators.signals import FALL_KINDS, SMOKE_KINDS

log = logging.getLogger(__name__)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
HomeRef = Annotated[int | str, Field(description="Device id, or index into the homes (0-based)")]
FallKind = Literal["forward", "backward", "sideways", "slide", "recovery"]
SmokeKind = Literal["toast", "steam", "smouldering", "flaming"]
assert set(FallKind.__args__) == set(FALL_KINDS)  # type: ignore[attr-defined]
assert set(SmokeKind.__args__) == set(SMOKE_KINDS)  # type: ignore[attr-defined]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    at: float = Field(ge=0, le=86_400, description="Seconds after the scenario starts")
    note: str = Field("", max_length=200, description="What this step shows (printed)")


class PressCall(_Step):
    """The resident presses the SOS button."""

    action: Literal["press_call"] = Field(description="Press the call button")
    home: HomeRef


class PressCancel(_Step):
    """The resident presses the cancel button."""

    action: Literal["press_cancel"] = Field(description="Press the cancel button")
    home: HomeRef


class Fall(_Step):
    """The resident falls (the accelerometer replays a synthetic fall)."""

    action: Literal["fall"] = Field(description="Replay a fall on the accelerometer")
    home: HomeRef
    kind: FallKind = Field("forward", description="Fall type")


class FallCancelled(_Step):
    """The resident falls, then presses cancel inside the cancel window."""

    action: Literal["fall_cancelled"] = Field(description="A fall cancelled by the resident")
    home: HomeRef
    kind: FallKind = Field("sideways", description="Fall type")
    cancel_after_s: float = Field(
        1.0, ge=0, le=60, description="Press cancel this long after the fall was detected"
    )


class Smoke(_Step):
    """A smoke source starts in a home (analog kitchen sensor)."""

    action: Literal["smoke"] = Field(description="Play a smoke curve on the analog sensor")
    home: HomeRef
    curve: SmokeKind = Field("toast", description="Smoke source")
    scale: float = Field(1.0, gt=0, le=10, description="Time scale of the curve (<1: faster)")


class Fire(_Step):
    """Fire in a building: smoke in one home, then in the building's stairwell."""

    action: Literal["fire"] = Field(description="Fire in a building (two detectors)")
    building: int | str = Field(description="Building id, or index into the buildings")
    home: HomeRef | None = Field(None, description="Home where it starts (default: the first)")
    curve: SmokeKind = Field("flaming", description="Smoke source in the home")
    scale: float = Field(0.2, gt=0, le=10, description="Time scale of the curve")
    stairwell_after_s: float = Field(
        6.0, ge=0, le=600, description="Smoke reaches the stairwell relay this much later"
    )


class GoSilent(_Step):
    """Power cut: the agent stops without a goodbye (the broker sends its last will)."""

    action: Literal["go_silent"] = Field(description="Cut the device's power")
    home: HomeRef


class BatteryLow(_Step):
    """The device reports a low backup battery."""

    action: Literal["battery_low"] = Field(description="Report a low battery")
    home: HomeRef
    pct: int = Field(15, ge=0, le=100, description="Battery charge in percent")


Step = Annotated[
    PressCall | PressCancel | Fall | FallCancelled | Smoke | Fire | GoSilent | BatteryLow,
    Field(discriminator="action"),
]


class Scenario(BaseModel):
    """A named list of timed steps."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(max_length=64, description="Scenario name")
    description: str = Field("", max_length=2000, description="What it demonstrates")
    tail_s: float = Field(
        10.0, ge=0, le=3600, description="Keep running this long after the last step"
    )
    steps: list[Step] = Field(min_length=1, description="Timed steps, any order")

    @property
    def duration_s(self) -> float:
        """Return when the scenario ends (last step plus `tail_s`)."""
        return max(s.at for s in self.steps) + self.tail_s


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file (ConfigError names the file, step and field)."""
    return load_model(Scenario, path)


@dataclass
class Stage:
    """The virtual homes and stairwell units a scenario acts on."""

    homes: list[VirtualHome]
    stairwells: dict[str, VirtualHome] = field(default_factory=dict)

    def home(self, ref: int | str) -> VirtualHome:
        """Return a home by index or device id."""
        if isinstance(ref, int):
            if not 0 <= ref < len(self.homes):
                raise LookupError(f"home index {ref} is out of range (0-{len(self.homes) - 1})")
            return self.homes[ref]
        for home in self.homes:
            if home.device == ref:
                return home
        raise LookupError(f"no home with device id {ref!r}")

    def buildings(self) -> list[str]:
        """Return the building ids of the stage, homes' buildings first, in order."""
        seen = dict.fromkeys(h.config.building for h in self.homes)
        seen.update(dict.fromkeys(self.stairwells))
        return list(seen)

    def building(self, ref: int | str) -> str:
        """Return a building id by index or id."""
        ids = self.buildings()
        if isinstance(ref, int):
            if not 0 <= ref < len(ids):
                raise LookupError(f"building index {ref} is out of range (0-{len(ids) - 1})")
            return ids[ref]
        if ref not in ids:
            raise LookupError(f"no building {ref!r}; known: {', '.join(ids)}")
        return ref

    def check(self, scenario: Scenario) -> None:
        """Raise LookupError if a step names a home or building the stage does not have."""
        for step in scenario.steps:
            if isinstance(step, Fire):
                building = self.building(step.building)
                if step.home is None and not any(h.config.building == building for h in self.homes):
                    raise LookupError(f"no home in building {building} for the fire at {step.at}")
            home = getattr(step, "home", None)
            if home is not None:
                self.home(home)


Observer = Callable[[float, str, str], None]
"""Called with (scenario time, device, what happened) as steps are played."""


async def play(
    scenario: Scenario, stage: Stage, *, observer: Observer | None = None, speed: float = 1.0
) -> None:
    """Play every step at its time (divided by `speed`); return when all steps are done."""
    stage.check(scenario)
    loop = asyncio.get_running_loop()
    start = loop.time()
    steps = sorted(scenario.steps, key=lambda s: s.at)
    async with asyncio.TaskGroup() as tg:
        for index, step in enumerate(steps):
            delay = start + step.at / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            name = f"scenario:{index}:{step.action}"
            tg.create_task(_run_step(step, stage, observer, start), name=name)


Say = Callable[[VirtualHome, str], None]


async def _run_step(step: _Step, stage: Stage, observer: Observer | None, start: float) -> None:
    """Carry out one step on its home(s); `start` is the loop time the scenario started."""

    def say(home: VirtualHome, what: str) -> None:
        now = asyncio.get_running_loop().time() - start
        text = f"{what} — {step.note}" if step.note else what
        log.info("scenario t=%.1f %s: %s", now, home.device, text)
        if observer is not None:
            observer(now, home.device, text)

    if isinstance(step, Fire):
        await _fire(step, stage, say)
        return
    home = stage.home(step.home)  # type: ignore[attr-defined]
    if isinstance(step, PressCall):
        say(home, "SOS button pressed")
        await home.press_call()
    elif isinstance(step, PressCancel):
        say(home, "cancel button pressed")
        await home.press_cancel()
    elif isinstance(step, Fall):
        say(home, f"falls ({step.kind})")
        home.fall(step.kind)
    elif isinstance(step, FallCancelled):
        await _fall_cancelled(step, home, say)
    elif isinstance(step, Smoke):
        say(home, f"smoke: {step.curve}")
        home.smoke(step.curve, scale=step.scale)
    elif isinstance(step, GoSilent):
        say(home, "power cut")
        home.go_silent()
    elif isinstance(step, BatteryLow):
        say(home, f"battery low ({step.pct} %)")
        await home.battery_low(step.pct)


async def _fire(step: Fire, stage: Stage, say: Say) -> None:
    """Start smoke in a home of the building, then close the stairwell's smoke relay."""
    building = stage.building(step.building)
    if step.home is not None:
        home = stage.home(step.home)
    else:
        home = next(h for h in stage.homes if h.config.building == building)
    say(home, f"fire ({step.curve}) in building {building}")
    home.smoke(step.curve, scale=step.scale)
    stair = stage.stairwells.get(building)
    if stair is not None:
        await asyncio.sleep(step.stairwell_after_s)
        say(stair, "smoke reaches the stairwell")
        stair.smoke_contact(True)


async def _fall_cancelled(step: FallCancelled, home: VirtualHome, say: Say) -> None:
    """Fall, wait for the agent to hold the alarm, then press cancel inside the window."""
    say(home, f"falls ({step.kind}), will cancel")
    home.fall(step.kind)
    if await home.wait_held(within=15.0):
        await asyncio.sleep(step.cancel_after_s)
        say(home, "cancel pressed in the cancel window")
        await home.press_cancel()
    else:
        say(home, "fall not detected, nothing to cancel")


def builtin(name: str) -> Path:
    """Return the path of a scenario shipped in simulators/scenarios/."""
    return SCENARIO_DIR / f"{name}.yaml"


def homes_needed(scenario: Scenario) -> int:
    """Return the smallest number of homes the scenario's numeric home indexes need."""
    refs: Sequence[int] = [
        h for s in scenario.steps if isinstance(h := getattr(s, "home", None), int)
    ]
    return max(refs, default=-1) + 1
