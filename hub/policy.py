"""The alarm policy: escalation tiers and timeouts, arrival timeouts, cancel and
smoke-verification windows, heartbeat supervision. A pydantic model (extra="forbid"), loadable
from YAML like every config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.config_file import load_model
from protocol.messages import AlarmClass

Audience = Literal["grid", "backup", "duty_officer", "supervisor", "fire_station", "maintenance"]
LIFE_SAFETY: frozenset[str] = frozenset({"call", "fall", "fire", "pre_alarm", "inactivity"})


class Strict(BaseModel):
    """Base for policy sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Escalation(Strict):
    """Who is paged for one alarm class, tier by tier, and how long each tier has to ack."""

    tiers: list[list[Audience]] = Field(
        min_length=1,
        description=(
            "Audiences per tier: grid (the grid's workers), backup (workers whose backup_for has "
            "the grid), duty_officer, supervisor, fire_station, maintenance (on-duty only)"
        ),
    )
    timeouts_s: list[float] = Field(
        default_factory=lambda: [60.0],
        min_length=1,
        description="Seconds tier i has to acknowledge; the last value applies to later tiers",
    )

    @model_validator(mode="after")
    def _positive(self) -> Escalation:
        if any(t <= 0 for t in self.timeouts_s):
            raise ValueError("timeouts_s: every timeout must be > 0 seconds")
        if any(not tier for tier in self.tiers):
            raise ValueError("tiers: a tier must name at least one audience")
        return self

    def timeout(self, tier: int) -> float:
        """Return the acknowledgement timeout of `tier` (the last one repeats)."""
        return self.timeouts_s[min(tier, len(self.timeouts_s) - 1)]


def _default_escalation() -> dict[AlarmClass, Escalation]:
    person = Escalation(tiers=[["grid"], ["backup"], ["duty_officer"], ["supervisor"]])
    return {
        "call": person,
        "fall": person,
        "inactivity": Escalation(
            tiers=[["grid"], ["backup"], ["duty_officer"], ["supervisor"]],
            timeouts_s=[300.0],
        ),
        "fire": Escalation(
            tiers=[["fire_station", "grid", "duty_officer"], ["backup"], ["supervisor"]],
            timeouts_s=[60.0],
        ),
        "pre_alarm": Escalation(tiers=[["duty_officer"], ["supervisor"]], timeouts_s=[60.0]),
        "trouble": Escalation(
            tiers=[["maintenance"], ["duty_officer"]], timeouts_s=[3600.0, 14400.0]
        ),
    }


def _default_by_reason() -> dict[AlarmClass, dict[str, Escalation]]:
    # A broker that drops messages may have lost SOS calls of the whole site: the duty officer
    # hears of it at once (maintenance fixes the broker), the supervisor if nobody answers.
    drops = Escalation(tiers=[["duty_officer", "maintenance"], ["supervisor"]], timeouts_s=[600.0])
    # A dead letter may be an SOS the engine could not handle: the duty officer looks at once.
    dead = Escalation(tiers=[["duty_officer", "maintenance"], ["supervisor"]], timeouts_s=[600.0])
    # A grid with nobody on duty: its SOS calls would reach nobody but the escalation tiers.
    nobody = Escalation(tiers=[["duty_officer"], ["supervisor"]], timeouts_s=[600.0])
    # A care visit left overdue past its grace: the duty officer sees that it gets done.
    care = Escalation(tiers=[["duty_officer"], ["supervisor"]], timeouts_s=[3600.0])
    return {
        "trouble": {
            "broker_drops": drops,
            "dead_letter": dead,
            "nobody_on_duty": nobody,
            "care_overdue": care,
        }
    }


def _default_arrival() -> dict[AlarmClass, float | None]:
    # Fire: responders on scene within 3 minutes (Chinese mini fire station practice).
    return {
        "fire": 180.0,
        "call": 600.0,
        "fall": 600.0,
        "inactivity": 1800.0,
        "pre_alarm": None,
        "trouble": None,
    }


class Policy(Strict):
    """Alarm rules' parameters; defaults follow docs/architecture.md."""

    escalation: dict[AlarmClass, Escalation] = Field(
        default_factory=_default_escalation,
        description="Escalation per alarm class; a class left out uses its default",
    )
    escalation_by_reason: dict[AlarmClass, dict[str, Escalation]] = Field(
        default_factory=_default_by_reason,
        description=(
            "Escalation of alarms of a class with a given reason, overriding the class's; "
            "defaults (kept unless overridden): trouble.broker_drops pages the duty officer "
            "and maintenance at once, then the supervisor"
        ),
    )
    arrival_timeout_s: dict[AlarmClass, float | None] = Field(
        default_factory=_default_arrival,
        description=(
            "Seconds after an acknowledgement by which someone must report `arrived`; past it "
            "the duty officer (for fire also the supervisor) is told, once. null: no timer. "
            "A class left out uses its default (fire 180, call/fall 600, inactivity 1800)"
        ),
    )
    cancel_window_s: float = Field(
        60.0,
        ge=0,
        le=600,
        description="A resident's cancel within this many seconds of raising cancels the alarm",
    )
    smoke_verify_s: float = Field(
        60.0,
        ge=0,
        le=60,
        description="An analog smoke reading alone must persist this long to become a fire "
        "(0: at once; at most 60 s, UL 864's limit for alarm verification); a detector's alarm "
        "contact is a fire at once",
    )
    missed_heartbeats: int = Field(
        3, ge=1, le=100, description="Heartbeats missed in a row before a device is offline"
    )
    heartbeat_s: dict[str, float] = Field(
        default_factory=lambda: {"home": 30.0, "common": 30.0},
        description=(
            "Default heartbeat per device class (home: has a household, common: stairwell etc.) "
            "when neither the device's status nor its config says"
        ),
    )
    offline_grace_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Extra slack before a silent device is offline; also after a hub restart",
    )

    supervision_interval_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="How often a tick also checks heartbeats and check-in windows (seconds)",
    )

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        defaults = _default_escalation()
        missing = {k: v for k, v in defaults.items() if k not in self.escalation}
        if missing:
            object.__setattr__(self, "escalation", {**missing, **self.escalation})
        arrival = _default_arrival()
        if any(k not in self.arrival_timeout_s for k in arrival):
            object.__setattr__(self, "arrival_timeout_s", {**arrival, **self.arrival_timeout_s})
        if any(t is not None and t <= 0 for t in self.arrival_timeout_s.values()):
            raise ValueError("arrival_timeout_s: a timeout must be > 0 seconds (or null: none)")
        by_reason = {k: dict(v) for k, v in _default_by_reason().items()}
        for cls, overrides in self.escalation_by_reason.items():
            by_reason[cls] = {**by_reason.get(cls, {}), **overrides}
        object.__setattr__(self, "escalation_by_reason", by_reason)
        self._rails()
        return self

    def _rails(self) -> None:
        """Refuse what no policy file may bend: the routing rails of docs/architecture.md."""
        esc = self.escalation
        if "duty_officer" not in self.escalation_by_reason["trouble"]["broker_drops"].tiers[0]:
            raise ValueError(
                "escalation_by_reason.trouble.broker_drops.tiers: the first tier must include "
                "duty_officer (dropped messages may be lost alarms)"
            )
        if "fire_station" not in esc["fire"].tiers[0]:
            raise ValueError("escalation.fire.tiers: the first tier must include fire_station")
        for cls in ("pre_alarm", "trouble"):
            for where, e in self._escalations_of(cls):
                if any("fire_station" in tier for tier in e.tiers):
                    raise ValueError(f"{where}.tiers: must not page the fire_station")
        for where, e in self._escalations_of("trouble"):
            if any(a in tier for tier in e.tiers for a in ("grid", "backup")):
                raise ValueError(f"{where}.tiers: trouble goes to maintenance, not grid workers")

    def _escalations_of(self, cls: AlarmClass) -> list[tuple[str, Escalation]]:
        """Return (where in the policy, escalation) of a class and of its per-reason overrides."""
        found = [(f"escalation.{cls}", self.escalation[cls])]
        for reason, e in self.escalation_by_reason.get(cls, {}).items():
            found.append((f"escalation_by_reason.{cls}.{reason}", e))
        return found

    def escalation_for(self, cls: str, reason: str = "") -> Escalation:
        """Return the escalation of an alarm of `cls` with `reason` (a per-reason override wins)."""
        overrides = next((o for c, o in self.escalation_by_reason.items() if c == cls), {})
        return overrides.get(reason) or self.escalation[cls]  # type: ignore[index]

    def arrival_timeout(self, cls: str) -> float | None:
        """Return the seconds an acknowledged alarm of `cls` may wait for `arrived`, or None."""
        return next((t for c, t in self.arrival_timeout_s.items() if c == cls), None)


def load_policy(path: str | Path) -> Policy:
    """Load a policy YAML file (errors name the file and the field)."""
    return load_model(Policy, path)
