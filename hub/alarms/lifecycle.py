"""The alarm lifecycle as ONE table: `(state, trigger) → (next state, effects)`.

Every change of an alarm's state goes through `Ledger.fire`, which looks the pair up here
(`decide`): a pair that is not in `TABLE` is refused with a reason code (`alarm_closed` on a
closed alarm, else `invalid_transition`) and changes nothing. The effects of a row run in the
order listed; `history` is the history entry (and the `Transition` action) that sets the state.
Rows without `history` leave the state as it is (a tier paged or escalated, an overseer told).

An alarm is born `raised` (`Ledger.raise_alarm`/`raise_system`); notes and repeats on an open
alarm add history without a trigger. The table is rendered into docs/hub.md
(`python -m hub.alarms.lifecycle` rewrites it; a test fails when it is stale).
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from protocol.messages import AlarmState

State = AlarmState
STATES: Final[tuple[State, ...]] = get_args(AlarmState)
CLOSED: Final[frozenset[State]] = frozenset({"resolved", "cancelled"})
OPEN: Final[tuple[State, ...]] = tuple(s for s in STATES if s not in CLOSED)

Trigger = Literal[
    "paged",  # a tier with someone on duty was paged (Ledger.page)
    "ack",  # a worker takes it (reply or API)
    "decline",  # a worker cannot: page the next tier now
    "timeout",  # nobody acknowledged in time: escalation timer (escalation.py)
    "arrived",  # the responder is on scene
    "resolve",  # a worker closes it with an outcome
    "cancel",  # the resident cancels within cancel_window_s (rules/person.py)
    "clear",  # a pre-alarm's smoke cleared before confirmation (rules/smoke.py)
    "recover",  # an offline device came back: its offline trouble ends (rules/trouble.py)
    "confirm_fire",  # a pre-alarm is confirmed as a fire (rules/smoke.py)
    "overdue",  # acknowledged, nobody arrived within the arrival timeout (arrival.py)
    "reassign",  # a duty officer hands the alarm to another worker (reassign.py)
]
TRIGGERS: Final[tuple[Trigger, ...]] = get_args(Trigger)
REPLY_TRIGGERS: Final[frozenset[Trigger]] = frozenset({"ack", "decline", "arrived", "resolve"})
"""Triggers a worker may send (`WorkerReply.action`, API actions)."""


class Effect(enum.StrEnum):
    """What a transition does besides changing the state, in the order a row lists them."""

    STOP_ESCALATION = "stop_escalation"  # next_escalation_at = None
    ARM_ARRIVAL = "arm_arrival"  # arrival_due_at = now + policy.arrival_timeout(cls)
    STOP_ARRIVAL = "stop_arrival"  # arrival_due_at = None
    CLOSE = "close"  # active = False, every timer off, outcome stored
    BECOME_FIRE = "become_fire"  # cls = fire, tier 0, verification and arrival timers off
    HISTORY = "history"  # transition row + `Transition` action; sets the state
    DELIVERY_ACKED = "delivery_acked"  # a delivery row `acked` on the channel used
    INDICATE = "indicate"  # the origin device shows the new state (LED/buzzer)
    SIRENS_ON = "sirens_on"  # every siren of the building on
    SIRENS_OFF_IF_FIRE = "sirens_off_if_fire"  # a fire's sirens off
    TELL_OTHERS = "tell_others"  # the others paged learn who did what (MQTT only)
    PAGE_TIER0 = "page_tier0"  # page tier 0 (then `paged` when someone is on duty)
    ESCALATE = "escalate"  # page the next tier and note why and whom
    ALERT_OVERSEERS = "alert_overseers"  # note + duty officer (fire: supervisor) told, once
    PAGE_WORKER = "page_worker"  # page one more worker at the current tier, noted


E = Effect


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of a trigger on a state: where the alarm goes and what happens."""

    next: State
    effects: tuple[Effect, ...]


class Refused(Exception):  # noqa: N818 - a reason, not an error
    """The input was refused; `reason` is the code returned in `Outcome.rejected`."""

    def __init__(self, reason: str) -> None:
        """Carry the reason code."""
        super().__init__(reason)
        self.reason = reason


def _rows() -> dict[tuple[State, Trigger], Step]:
    rows: dict[tuple[State, Trigger], Step] = {}

    def add(states: tuple[State, ...], trigger: Trigger, nxt: State | None, *fx: Effect) -> None:
        for s in states:
            rows[(s, trigger)] = Step(next=nxt or s, effects=fx)

    waiting: tuple[State, ...] = ("raised", "notified")
    add(("raised",), "paged", "notified", E.HISTORY)
    add(
        waiting,
        "ack",
        "acknowledged",
        E.STOP_ESCALATION,
        E.ARM_ARRIVAL,
        E.HISTORY,
        E.DELIVERY_ACKED,
        E.INDICATE,
        E.TELL_OTHERS,
    )
    add(waiting, "decline", None, E.ESCALATE)
    add(waiting, "timeout", None, E.ESCALATE)
    add(
        (*waiting, "acknowledged"),
        "arrived",
        "on_scene",
        E.STOP_ESCALATION,
        E.STOP_ARRIVAL,
        E.HISTORY,
        E.INDICATE,
        E.TELL_OTHERS,
    )
    add(
        OPEN,
        "resolve",
        "resolved",
        E.CLOSE,
        E.HISTORY,
        E.INDICATE,
        E.SIRENS_OFF_IF_FIRE,
        E.TELL_OTHERS,
    )
    add(waiting, "cancel", "cancelled", E.CLOSE, E.HISTORY, E.TELL_OTHERS, E.INDICATE)
    add(OPEN, "clear", "resolved", E.CLOSE, E.HISTORY, E.TELL_OTHERS)
    add(OPEN, "recover", "resolved", E.CLOSE, E.HISTORY, E.TELL_OTHERS)
    add(OPEN, "confirm_fire", "raised", E.BECOME_FIRE, E.HISTORY, E.PAGE_TIER0, E.SIRENS_ON)
    add(("acknowledged",), "overdue", None, E.ALERT_OVERSEERS)
    add(OPEN, "reassign", None, E.PAGE_WORKER)
    return rows


TABLE: Final[dict[tuple[State, Trigger], Step]] = _rows()
"""Every allowed (state, trigger); anything else is refused (`decide`)."""


def refusal(state: State, trigger: Trigger) -> str | None:
    """Return why `trigger` is refused in `state`, or None when the table allows it."""
    if (state, trigger) in TABLE:
        return None
    return "alarm_closed" if state in CLOSED else "invalid_transition"


def decide(state: State, trigger: Trigger) -> Step:
    """Return the step `trigger` takes from `state`; raise `Refused` when the table has none."""
    step = TABLE.get((state, trigger))
    if step is None:
        raise Refused(refusal(state, trigger) or "invalid_transition")
    return step


def allows(state: str, trigger: Trigger) -> bool:
    """Tell whether the table has a row for (`state`, `trigger`)."""
    return (state, trigger) in TABLE


BEGIN = "<!-- lifecycle table: generated by `python -m hub.alarms.lifecycle`, do not edit -->"
END = "<!-- end of lifecycle table -->"


def render() -> str:
    """Return the table as Markdown: one row per allowed pair, then what is refused."""
    lines = [
        BEGIN,
        "| from state(s) | trigger | next state | effects (in order) |",
        "|---|---|---|---|",
    ]
    for trigger in TRIGGERS:
        # One line per trigger and outcome: states with the same next state and effects.
        groups: dict[tuple[str, tuple[Effect, ...]], list[State]] = {}
        for state in STATES:
            step = TABLE.get((state, trigger))
            if step is not None:
                nxt = f"`{step.next}`" if Effect.HISTORY in step.effects else "(unchanged)"
                groups.setdefault((nxt, step.effects), []).append(state)
        for (nxt, effects), states in groups.items():
            froms = ", ".join(f"`{s}`" for s in states)
            fx = ", ".join(str(e) for e in effects)
            lines.append(f"| {froms} | `{trigger}` | {nxt} | {fx} |")
    lines.append("")
    lines.append(
        "Any other pair is refused and changes nothing: `alarm_closed` on "
        + " / ".join(f"`{s}`" for s in STATES if s in CLOSED)
        + ", else `invalid_transition`. 其余组合一律拒绝，不做任何改动。"
    )
    lines.append(END)
    return "\n".join(lines)


def splice(doc: str) -> str:
    """Return `doc` with the text between BEGIN and END replaced by `render()`."""
    head, sep, rest = doc.partition(BEGIN)
    if not sep:
        raise ValueError("docs/hub.md has no lifecycle table marker")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise ValueError("docs/hub.md has no end marker for the lifecycle table")
    return head + render() + tail


DOC = Path(__file__).resolve().parents[2] / "docs" / "hub.md"


def main() -> int:
    """Rewrite the lifecycle table in docs/hub.md."""
    DOC.write_text(splice(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
