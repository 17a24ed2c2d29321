"""The real edge agent on mock pins against the real hub and a real Mosquitto: what the
resident sees (sent, received, help is coming, failed), repeats and cancels that are never
silent, and a smoke detector's contact paging the fire station at once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.codec import encode
from protocol.messages import WorkerReply, utcnow
from protocol.topics import worker_topic
from simulators.services import Mosquitto
from tests.edge.conftest import Collector, device_config, running, until
from tests.hub.receiver import hub_settings, running_hub, write_site

pytestmark = pytest.mark.integration

HOME = "home-b1-101"  # 王秀英, grid-1: grid worker w-zhang-wei
CALL, CANCEL, SMOKE = 17, 27, 22


async def alarms(api: httpx.AsyncClient, **query: str) -> list[dict[str, Any]]:
    """Return the alarms the API lists."""
    found: list[dict[str, Any]] = (await api.get("/api/v1/alarms", params=query)).json()
    return found


async def press(run: Any, pin: int) -> None:
    """Press and release a button wired to ground."""
    run.pin(pin).drive_low()
    await until(lambda: True, within=0.1)
    run.pin(pin).drive_high()


def alerts_to(coll: Collector, worker: str) -> list[dict[str, Any]]:
    """Return the alerts published to one worker, decoded."""
    return [
        json.loads(bytes(m.payload))
        for m in coll.messages
        if m.topic.value.endswith(f"/worker/{worker}/alert")
    ]


@contextlib.asynccontextmanager
async def hub(tmp_path: Path, broker: Mosquitto, site: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run the real hub for the sunflower registry copied as `site`."""
    settings = hub_settings(tmp_path, broker.url, write_site(tmp_path, site))
    async with running_hub(settings) as api:
        yield api


async def test_resident_sees_received_then_help_is_coming_and_nothing_is_silent(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url, device=HOME)
    coll = Collector(mosquitto, f"watchpost/v1/{site_id}/worker/#")
    async with (
        hub(tmp_path, mosquitto, site_id) as api,
        coll.running(),
        running(config) as run,
        mosquitto_client(mosquitto) as worker,
    ):
        await until(lambda: run.agent.connected, what="agent connected")
        await press(run, CALL)
        # "sent, waiting" (the broker has it) comes first, then the hub's "received".
        await until(lambda: run.agent.indicate_state == "received", what="received")
        await until(lambda: len(alerts_to(coll, "w-zhang-wei")) == 1, what="first page")
        # Pressing again re-alerts the worker with the count.
        await press(run, CALL)
        await until(lambda: len(alerts_to(coll, "w-zhang-wei")) == 2, what="re-alert")
        again = alerts_to(coll, "w-zhang-wei")[1]
        assert "Pressed again, 2nd time" in again["title_en"]
        assert "居民再次按下求助（第2次）" in again["title_zh"]
        # The worker acknowledges over MQTT: the resident sees "help is coming".
        (alarm,) = await alarms(api)
        reply = WorkerReply(alarm=alarm["id"], action="ack", ts=utcnow())
        await worker.publish(worker_topic(site_id, "w-zhang-wei", "reply"), encode(reply), qos=1)
        await until(lambda: run.agent.indicate_state == "acknowledged", what="help is coming")
        # A cancel now does not cancel: the worker hears "resident says OK".
        await press(run, CANCEL)
        await until(lambda: len(alerts_to(coll, "w-zhang-wei")) == 3, what="resident says OK")
        says_ok = alerts_to(coll, "w-zhang-wei")[2]
        assert "Resident says OK" in says_ok["title_en"]
        await until(lambda: run.agent.indicate_state == "acknowledged", what="still coming")
        (alarm,) = await alarms(api)
        assert alarm["state"] == "acknowledged"


async def test_failed_when_the_hub_does_not_confirm_then_cleared_when_it_does(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url, device=HOME, timing={"confirm_s": 1.5})
    async with running(config) as run:
        await until(lambda: run.agent.connected, what="agent connected")
        await press(run, CALL)
        await until(lambda: run.agent.indicate_state == "sent", what="sent, waiting")
        # No hub: after confirm_s the resident is told to phone for help.
        await until(lambda: run.agent.indicate_state == "failed", within=5, what="failed")
        assert run.pin(6).state or any(s.state for s in run.pin(6).states[-6:])
        # The hub comes up; the resent alarm reaches it and the device is told.
        async with hub(tmp_path, mosquitto, site_id) as api:
            await until(lambda: run.agent.indicate_state == "received", within=20, what="cleared")
            (alarm,) = await alarms(api)
            assert alarm.get("class", alarm.get("cls")) == "call" and alarm["device"] == HOME


async def test_smoke_contact_pages_the_fire_station_within_ten_seconds(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    config = device_config(
        tmp_path,
        site_id,
        mosquitto.url,
        device="home-b1-302",
        inputs={"smoke_contact": {"pin": SMOKE, "confirm_s": 2}},
    )
    coll = Collector(mosquitto, f"watchpost/v1/{site_id}/worker/#")
    async with hub(tmp_path, mosquitto, site_id), coll.running(), running(config) as run:
        await until(lambda: run.agent.connected, what="agent connected")
        run.pin(SMOKE).drive_low()  # the detector's alarm contact closes (active low)
        await until(lambda: alerts_to(coll, "w-fire-1") != [], within=10, what="fire station")
        (page,) = alerts_to(coll, "w-fire-1")
        assert (page["class"], page["state"]) == ("fire", "notified")


@contextlib.asynccontextmanager
async def mosquitto_client(broker: Mosquitto) -> AsyncIterator[Any]:
    """Connect a plain MQTT client (a worker's phone)."""
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        yield client


async def test_an_unconfirmed_alarm_survives_a_restart_and_is_sent_again(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    """The broker had it, the hub never said so, the device restarted: it keeps trying."""
    from protocol.codec import decode_event

    config = device_config(tmp_path, site_id, mosquitto.url, device=HOME, timing={"confirm_s": 1.0})
    coll = Collector(mosquitto, f"watchpost/v1/{site_id}/dev/{HOME}/event")
    async with coll.running():
        async with running(config) as run:
            await until(lambda: run.agent.connected, what="agent connected")
            await press(run, CALL)
            await until(lambda: run.agent.indicate_state == "sent", what="sent, waiting")
        (first,) = [decode_event(p) for p in coll.payloads("event")]
        async with running(config) as run:
            await until(lambda: run.agent.indicate_state == "failed", what="failed after restart")
            await until(lambda: len(coll.payloads("event")) >= 2, what="sent again")
            again = decode_event(coll.payloads("event")[1])
            assert (again.id, again.kind) == (first.id, "call")
            async with hub(tmp_path, mosquitto, site_id):
                await until(lambda: run.agent.indicate_state == "received", within=20, what="ok")
