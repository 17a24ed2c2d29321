"""The alarm policy model: defaults, per-class overrides, rails, and file errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.policy import Policy, load_policy
from protocol.errors import ConfigError


def test_defaults_follow_the_architecture() -> None:
    policy = Policy()
    assert policy.escalation_for("call").tiers == [
        ["grid"],
        ["backup"],
        ["duty_officer"],
        ["supervisor"],
    ]
    assert policy.escalation_for("call").timeout(0) == 60
    assert "fire_station" in policy.escalation_for("fire").tiers[0]
    assert policy.escalation_for("trouble").timeout(9) > policy.escalation_for("call").timeout(9)


def test_overriding_one_class_keeps_the_others() -> None:
    policy = Policy(escalation={"call": {"tiers": [["grid"], ["supervisor"]], "timeouts_s": [5]}})
    assert policy.escalation_for("call").timeout(3) == 5
    assert policy.escalation_for("fall").timeout(0) == 60


@pytest.mark.parametrize(
    ("escalation", "message"),
    [
        ({"fire": {"tiers": [["grid"], ["fire_station"]]}}, "first tier must include fire_station"),
        ({"pre_alarm": {"tiers": [["duty_officer", "fire_station"]]}}, "must not page"),
        ({"trouble": {"tiers": [["maintenance"], ["fire_station"]]}}, "must not page"),
        ({"trouble": {"tiers": [["grid"]]}}, "maintenance, not grid workers"),
        ({"call": {"tiers": [["grid"]], "timeouts_s": [0]}}, "must be > 0"),
        ({"call": {"tiers": [[]]}}, "at least one audience"),
    ],
)
def test_rails_no_policy_may_bend(escalation: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Policy(escalation=escalation)  # type: ignore[arg-type]


def test_policy_file_errors_name_the_field(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("cancel_window_s: 20\nsmoke_verify: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert "smoke_verify" in str(info.value) and str(path) in str(info.value)
    path.write_text("cancel_window_s: 20\nsmoke_verify_s: 10\n", encoding="utf-8")
    assert load_policy(path).smoke_verify_s == 10


def test_arrival_timeouts_default_per_class_and_merge() -> None:
    policy = Policy()
    assert policy.arrival_timeout("fire") == 180
    assert policy.arrival_timeout("call") == policy.arrival_timeout("fall") == 600
    assert policy.arrival_timeout("inactivity") == 1800
    assert policy.arrival_timeout("trouble") is None
    tuned = Policy(arrival_timeout_s={"fire": 120, "call": None})
    assert (tuned.arrival_timeout("fire"), tuned.arrival_timeout("call")) == (120, None)
    assert tuned.arrival_timeout("fall") == 600


@pytest.mark.parametrize("bad", [0, -5])
def test_arrival_timeout_must_be_positive(bad: float) -> None:
    with pytest.raises(ValidationError, match="arrival_timeout_s"):
        Policy(arrival_timeout_s={"call": bad})  # type: ignore[dict-item]
