"""Dispatch end to end, hub in-process with the real engine, store, Mosquitto and influxd:
SOS → worker alert → ack → `indicate` on the device; escalation; signed webhook; Apprise."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest
import yaml

from hub.dispatch import channel_kind, redact
from protocol.codec import decode_command, encode, new_event_id
from protocol.messages import Event, IndicateCmd, utcnow
from protocol.topics import device_topic
from simulators.services import Influxd, Mosquitto
from simulators.workers import VirtualWorker, WorkerPool
from tests.hub.receiver import (
    WEBHOOK_SECRET,
    Receiver,
    hub_settings,
    running_hub,
    write_policy,
    write_site,
)

pytestmark = pytest.mark.integration

DEVICE = "home-b1-101"  # 王秀英, grid-1: grid worker w-zhang-wei, backup w-wang-fang
GRID_WORKER = "w-zhang-wei"
BACKUP = "w-wang-fang"


def sos(seq: int = 1, kind: str = "call") -> Event:
    """Return an SOS press of the test device."""
    return Event(
        id=new_event_id(), device=DEVICE, seq=seq, ts=utcnow(), kind=kind, source="gpio:call"
    )  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """Run a local HTTP receiver until the block ends."""
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


async def publish_event(broker: Mosquitto, site: str, event: Event) -> None:
    """Publish an event as an edge agent would (QoS 1)."""
    async with aiomqtt.Client("127.0.0.1", broker.port) as edge:
        await edge.publish(device_topic(site, event.device, "event"), encode(event), qos=1)


async def test_sos_reaches_grid_worker_and_ack_indicates_on_device(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, influx_db: str, site_id: str
) -> None:
    settings = hub_settings(
        tmp_path,
        mosquitto.url,
        write_site(tmp_path, site_id),
        influx=influxd.url,
        database=influx_db,
    )
    pool = WorkerPool.build(
        mosquitto.url,
        site_id,
        [GRID_WORKER],
        ack_after_s=0.1,
        arrive_after_s=30,
        resolve_after_s=30,
    )
    async with (
        running_hub(settings) as api,
        pool.running(),
        aiomqtt.Client("127.0.0.1", mosquitto.port) as device,
    ):
        await device.subscribe(device_topic(site_id, DEVICE, "cmd"), 1)
        event = sos()
        await device.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
        got = await pool[GRID_WORKER].wait_for_alert()
        assert got.alert.cls == "call"
        assert got.alert.device == DEVICE
        assert got.alert.resident is not None and got.alert.resident.name == "王秀英"
        states: list[str] = []
        async with asyncio.timeout(10):
            async for message in device.messages:
                cmd = decode_command(bytes(message.payload))  # type: ignore[arg-type]
                if isinstance(cmd, IndicateCmd):
                    states.append(cmd.state)
                    if cmd.state == "acknowledged":
                        break
        assert cmd.alarm == got.alert.alarm
        alarm = (await api.get(f"/api/v1/alarms/{got.alert.alarm}")).json()
        assert alarm["alarm"]["state"] == "acknowledged"
        assert event.id in alarm["alarm"]["event_ids"]
        sent = [d for d in alarm["deliveries"] if d["channel"] == "mqtt"]
        assert sent and sent[0]["worker"] == GRID_WORKER and sent[0]["status"] == "sent"


async def test_nobody_acks_escalates_to_backup_tier(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    settings = hub_settings(
        tmp_path,
        mosquitto.url,
        write_site(tmp_path, site_id),
        policy=write_policy(tmp_path, call_timeout_s=1.0),
    )
    pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER, BACKUP], respond=False)
    async with running_hub(settings), pool.running():
        await publish_event(mosquitto, site_id, sos())
        first = await pool[GRID_WORKER].wait_for_alert()
        assert first.alert.tier == 0
        escalated = await pool[BACKUP].wait_for_alert(within_s=15)
    assert escalated.alert.alarm == first.alert.alarm
    assert escalated.alert.tier == 1


async def test_others_hear_who_took_it_over_mqtt_only_and_nobody_answers_news(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    policy = tmp_path / "updates-policy.yaml"
    tiers = [["grid"], ["backup"], ["duty_officer"], ["supervisor"]]
    doc = {
        "escalation": {"call": {"tiers": tiers, "timeouts_s": [1.0]}},
        "arrival_timeout_s": {"call": 1.0},
    }
    policy.write_text(yaml.safe_dump(doc), encoding="utf-8")
    zhang = VirtualWorker(mosquitto.url, site_id, GRID_WORKER, respond=False)
    wang = VirtualWorker(mosquitto.url, site_id, BACKUP, ack_after_s=0, arrive_after_s=60)
    # Answers every page at once: it must not answer the arrival notice (state acknowledged).
    duty = VirtualWorker(mosquitto.url, site_id, "w-duty-1", ack_after_s=0)
    async with receiver() as r:
        site = write_site(tmp_path, site_id, notify={GRID_WORKER: [f"{r.url}/hook/zhang"]})
        settings = hub_settings(tmp_path, mosquitto.url, site, policy=policy)
        async with running_hub(settings), WorkerPool([zhang, wang, duty]).running():
            await publish_event(mosquitto, site_id, sos())
            page = await zhang.wait_for_alert()
            async with asyncio.timeout(15):
                while True:  # the update to Zhang Wei, the arrival notice to the duty officer
                    if len(zhang.inbox) >= 2 and duty.inbox:
                        break
                    await asyncio.sleep(0.02)
        # The hub drained its queues on the way out: every webhook it meant to send is sent.
        hooks = [json.loads(req.body)["alert"] for req in r.requests]
    update = zhang.inbox[1].alert
    assert (update.alarm, update.state) == (page.alert.alarm, "acknowledged")
    assert update.title_zh.startswith("【一键呼叫】王芳已接单：")
    assert [(h["alarm"], h["state"]) for h in hooks] == [(page.alert.alarm, "notified")]
    (notice,) = duty.inbox
    assert notice.alert.state == "acknowledged" and "仍未到场" in notice.alert.title_zh
    assert duty.replies == [] and [x.action for x in wang.replies] == ["ack"]


async def test_webhook_is_signed_and_apprise_json_is_delivered(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    async with receiver() as r:
        hook = f"{r.url}/hook/zhang"
        apprise_url = f"json://127.0.0.1:{r.port}/apprise/zhang"
        site = write_site(tmp_path, site_id, notify={GRID_WORKER: [hook, apprise_url]})
        settings = hub_settings(tmp_path, mosquitto.url, site)
        async with running_hub(settings) as api:
            await publish_event(mosquitto, site_id, sos())
            requests = await r.wait_for(2)
            by_path = {req.path: req for req in requests}
            webhook = by_path["/hook/zhang"]
            expected = hmac.new(WEBHOOK_SECRET.encode(), webhook.body, hashlib.sha256).hexdigest()
            assert webhook.headers["X-Watchpost-Signature"] == f"sha256={expected}"
            doc = json.loads(webhook.body)
            assert doc["worker"] == GRID_WORKER
            assert doc["alert"]["class"] == "call"
            assert doc["alert"]["title_zh"]
            apprise_doc = json.loads(by_path["/apprise/zhang"].body)
            assert doc["alert"]["title_en"] in apprise_doc["title"]
            alarm_id = doc["alert"]["alarm"]
            async with asyncio.timeout(10):
                while True:
                    deliveries = (await api.get(f"/api/v1/alarms/{alarm_id}")).json()["deliveries"]
                    if len(deliveries) >= 3:
                        break
                    await asyncio.sleep(0.05)
            # The page's outbox row is delivered once all three channels are done.
            async with asyncio.timeout(10):
                while True:
                    if (await api.get("/healthz")).json()["outbox_oldest_s"] == 0:
                        break
                    await asyncio.sleep(0.1)
    channels = sorted(d["channel"].split(":")[0] for d in deliveries)
    assert channels == ["json", "mqtt", "webhook"]
    assert all(d["status"] == "sent" for d in deliveries)


async def test_failing_webhook_is_retried_then_recorded_failed(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    async with receiver() as r:
        r.status = 500
        site = write_site(tmp_path, site_id, notify={GRID_WORKER: [f"{r.url}/down"]})
        settings = hub_settings(tmp_path, mosquitto.url, site, webhook_attempts=2)
        pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER], respond=False)
        async with running_hub(settings) as api, pool.running():
            await publish_event(mosquitto, site_id, sos())
            got = await pool[GRID_WORKER].wait_for_alert()
            await r.wait_for(2)
            async with asyncio.timeout(10):
                while True:
                    doc = (await api.get(f"/api/v1/alarms/{got.alert.alarm}")).json()
                    failed = [d for d in doc["deliveries"] if d["status"] == "failed"]
                    if failed:
                        break
                    await asyncio.sleep(0.05)
    assert failed[0]["channel"].startswith("webhook")
    assert "HTTP 500" in failed[0]["detail"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@hooks.example.org/t/abc?key=1", "https://hooks.example.org/…"),
        ("json://127.0.0.1:8080/apprise", "json://127.0.0.1:8080/…"),
        ("dingtalk://SECRETTOKEN/", "dingtalk://…"),
        ("wecom://corp/secret/agent", "wecom://…"),
        ("mqtt", "mqtt"),
    ],
)
def test_channel_urls_are_redacted_before_logging_or_storing(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert channel_kind(url) in ("webhook", "json", "dingtalk", "wecom", "mqtt")
