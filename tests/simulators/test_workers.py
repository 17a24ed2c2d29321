"""Virtual workers against a real Mosquitto: persistent sessions, scripted replies, silence."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiomqtt
import pytest

from protocol.codec import decode, encode
from protocol.messages import WorkerAlert, WorkerReply, utcnow
from protocol.topics import worker_filter, worker_topic
from simulators.services import Mosquitto
from simulators.workers import VirtualWorker, WorkerPool

pytestmark = pytest.mark.integration


def _alert(site: str, alarm: str) -> WorkerAlert:
    now = utcnow()
    return WorkerAlert(
        alarm=alarm,
        cls="call",
        state="notified",
        ts=now,
        raised_at=now - timedelta(seconds=1),
        site=site,
        title_zh="紧急呼叫",
        title_en="SOS call",
    )


async def _publish(broker: Mosquitto, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish(topic, payload, qos=1)


async def test_worker_replies_ack_arrived_resolve_in_order(
    mosquitto: Mosquitto, site_id: str
) -> None:
    replies: list[WorkerReply] = []
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as hub:
        await hub.subscribe(worker_topic(site_id, "w-a", "reply"), 1)
        worker = VirtualWorker(
            mosquitto.url,
            site_id,
            "w-a",
            ack_after_s=0.05,
            arrive_after_s=0.05,
            resolve_after_s=0.05,
            outcome="false_alarm",
        )
        async with WorkerPool([worker]).running():
            await hub.publish(
                worker_topic(site_id, "w-a", "alert"), encode(_alert(site_id, "a1")), qos=1
            )
            got = await worker.wait_for_alert()
            assert got.alert.alarm == "a1"
            assert got.latency_s >= 1.0
            async with asyncio.timeout(10):
                async for message in hub.messages:
                    reply = decode("reply", bytes(message.payload))  # type: ignore[arg-type]
                    assert isinstance(reply, WorkerReply)
                    replies.append(reply)
                    if len(replies) == 3:
                        break
    assert [r.action for r in replies] == ["ack", "arrived", "resolve"]
    assert replies[-1].outcome == "false_alarm"
    assert all(r.alarm == "a1" for r in replies)


async def test_persistent_session_gets_alerts_sent_while_offline(
    mosquitto: Mosquitto, site_id: str
) -> None:
    pool = WorkerPool.build(mosquitto.url, site_id, ["w-b"], respond=False)
    async with pool.running():
        pass  # first connection creates the persistent session and its subscription
    await _publish(mosquitto, worker_topic(site_id, "w-b", "alert"), encode(_alert(site_id, "a2")))
    async with pool.running():
        got = await pool["w-b"].wait_for_alert()
    assert got.alert.alarm == "a2"


async def test_silent_worker_never_replies(mosquitto: Mosquitto, site_id: str) -> None:
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as hub:
        await hub.subscribe(worker_filter(site_id, "reply"), 1)
        pool = WorkerPool.build(
            mosquitto.url, site_id, ["w-c", "w-d"], respond=False, ack_after_s=0.0
        )
        async with pool.running():
            for w in ("w-c", "w-d"):
                await hub.publish(
                    worker_topic(site_id, w, "alert"), encode(_alert(site_id, w)), qos=1
                )
            for w in ("w-c", "w-d"):
                await pool[w].wait_for_alert()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await anext(aiter(hub.messages))
        assert len(pool.latencies()) == 2
        assert all(not w.replies for w in pool.workers)


async def test_bad_alert_is_dropped_and_worker_keeps_going(
    mosquitto: Mosquitto, site_id: str
) -> None:
    pool = WorkerPool.build(mosquitto.url, site_id, ["w-e"], respond=False)
    async with pool.running():
        topic = worker_topic(site_id, "w-e", "alert")
        await _publish(mosquitto, topic, b"{not json")
        await _publish(mosquitto, topic, encode(_alert(site_id, "a3")))
        got = await pool["w-e"].wait_for_alert()
    assert got.alert.alarm == "a3"
    assert len(pool["w-e"].inbox) == 1
