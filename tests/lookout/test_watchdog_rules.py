"""The watchdog's rules, driven by hand with monotonic times (no broker, no sleeping)."""

from __future__ import annotations

from lookout.watcher import BROKER, Watcher
from protocol.messages import HubStatus, utcnow


def status(state: str = "online", hub: str = "hub") -> HubStatus:
    return HubStatus(hub=hub, ts=utcnow(), state=state)  # type: ignore[arg-type]


def watching(t: float = 0.0) -> Watcher:
    w = Watcher(("hub",), grace_s=15, broker_grace_s=10, started=t)
    w.on_connected(t)
    w.on_broker_tick(t)
    w.on_hub_status(status(), retained=True, now=t)
    w.on_hub_status(status(), retained=False, now=t + 1)
    assert w.check(t + 1) == []  # unknown -> up is not news
    assert w.state(BROKER) == "up" and w.state("hub") == "up"
    return w


def test_hub_last_will_pages_at_once_and_back_pages_again() -> None:
    w = watching()
    w.on_broker_tick(2)
    w.on_hub_status(status("offline"), retained=False, now=2)
    assert w.check(2) == []  # confirmed only if the broker is still up 1.5 s later
    [down] = w.check(3.5)
    assert (down.target, down.change) == ("hub", "silent")
    assert "失联" in down.title and "is silent" in down.title
    assert "离线" in down.body and "offline" in down.body
    w.on_hub_status(status(), retained=False, now=7)
    w.on_broker_tick(7)
    [back] = w.check(7)
    assert back.change == "back" and "已恢复" in back.title and "is back" in back.title
    assert back.down_for_s == 5


def test_wills_sent_by_a_broker_shutting_down_page_the_broker_not_the_hub() -> None:
    w = watching()
    w.on_hub_status(status("offline"), retained=False, now=5)
    w.on_disconnected()
    assert w.check(7) == []
    [down] = w.check(11.5)
    assert down.target == BROKER
    w.on_connected(20)
    w.on_broker_tick(20)
    w.on_hub_status(status("offline"), retained=True, now=20)  # the will, kept by the broker
    assert [n.target for n in w.check(20)] == [BROKER]
    w.on_hub_status(status(), retained=False, now=21)
    assert w.check(21) == [] and w.state("hub") == "up"


def test_a_hub_that_hangs_is_silent_after_the_grace() -> None:
    w = watching()
    for t in range(2, 17):
        w.on_broker_tick(t)
        assert w.check(t) == []
    w.on_broker_tick(17)
    [down] = w.check(17)
    assert down.target == "hub" and "16" in down.body


def test_a_retained_online_is_not_proof_of_life() -> None:
    w = Watcher(("hub",), grace_s=15, broker_grace_s=10, started=0)
    w.on_connected(0)
    for t in range(17):
        w.on_broker_tick(t)
        w.on_hub_status(status(), retained=True, now=t)
        notices = w.check(t)
    assert [(n.target, n.change) for n in notices] == [("hub", "silent")]


def test_broker_lost_pages_once_and_hubs_are_not_judged_meanwhile() -> None:
    w = watching()
    w.on_disconnected()
    assert w.check(5) == []  # within the broker's grace
    [down] = w.check(12)
    assert (down.target, down.change) == (BROKER, "silent")
    assert w.check(40) == []  # the hub is not blamed for the broker
    w.on_connected(41)
    w.on_hub_status(status(), retained=True, now=41)
    notices = w.check(41)
    assert [(n.target, n.change) for n in notices] == [(BROKER, "back")]
    w.on_hub_status(status(), retained=False, now=42)
    assert w.check(42) == []


def test_a_broker_never_reached_is_silent() -> None:
    w = Watcher(("hub",), grace_s=15, broker_grace_s=10, started=100)
    assert w.check(105) == []
    [down] = w.check(111)
    assert down.target == BROKER and "10" in down.body


def test_a_connected_broker_without_sys_heartbeat_is_silent() -> None:
    w = watching()
    w.on_hub_status(status(), retained=False, now=9)
    [down] = w.check(12)
    assert down.target == BROKER
