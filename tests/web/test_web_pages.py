"""The board and the phone page in real headless Chromium, against a real hub and broker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiomqtt
import pytest
from playwright.async_api import Browser, Page

from protocol.codec import decode_command, encode, new_event_id
from protocol.messages import Event, EventKind, SirenCmd, utcnow
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.web.conftest import BOARD, PHONE, Hub, logged_in

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PAGE = {"X-Watchpost": "1"}  # what the pages send with a cookie-authenticated write


async def publish(mosquitto: Mosquitto, site: str, device: str, kind: EventKind) -> None:
    """Publish one event as the device would (QoS 1, real broker)."""
    event = Event(id=new_event_id(), device=device, seq=1, ts=utcnow(), kind=kind, source="test")
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.publish(device_topic(site, device, "event"), encode(event), qos=1)


async def sound(page: Page) -> dict[str, object]:
    """Return the board's sound hook: is the alarm tone playing, how many beeps so far."""
    result: dict[str, object] = await page.evaluate("window.watchpostSound")
    return result


async def shot(page: Page, name: str) -> None:
    """Write a screenshot to docs/img/ (shown in the README)."""
    IMG.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(IMG / name))


@pytest.mark.integration
async def test_sos_from_board_to_phone_and_back(
    hub: Hub, browser: Browser, mosquitto: Mosquitto
) -> None:
    board_ctx, board = await logged_in(browser, hub, "duty", BOARD)
    for resident in ("r-wang-xiuying", "r-zhao-guoqiang", "r-chen-shufen", "r-liu-jianhua"):
        put = await board_ctx.request.put(
            f"/api/v1/care/plans/{resident}", data={"interval_days": 7}, headers=PAGE
        )
        assert put.status == 200
    visit = {"resident": "r-chen-shufen", "outcome": "ok"}
    assert (await board_ctx.request.post("/api/v1/care/visits", data=visit, headers=PAGE)).ok
    await board.reload()
    await board.wait_for_selector("body[data-ready='1']")
    _, phone = await logged_in(browser, hub, "zhang", PHONE)
    other_ctx, other = await logged_in(browser, hub, "li", PHONE)
    assert phone.url.endswith("/worker") and board.url.endswith("/board")
    await phone.wait_for_selector("div.visit.overdue")  # care rounds due on the phone

    event = Event(
        id=new_event_id(), device="home-b1-101", seq=1, ts=utcnow(), kind="call", source="test"
    )
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as device:
        sent = time.monotonic()  # from the press leaving the device (connected) to the board
        await device.publish(device_topic(hub.site, "home-b1-101", "event"), encode(event), qos=1)
        await board.wait_for_selector("tr.alarm.cls-call", timeout=5000)
        on_board_s = time.monotonic() - sent
    print(f"SOS on the board {on_board_s * 1000:.0f} ms after the device published it")
    assert on_board_s < 1.0, f"SOS reached the board after {on_board_s:.2f} s"
    await board.wait_for_function(
        "window.watchpostSound.playing && window.watchpostSound.beeps >= 1"
    )
    alarm_id = await board.get_attribute("tr.alarm.cls-call", "data-id")
    assert alarm_id

    card = phone.locator(f"article.card[data-id='{alarm_id}']")
    await card.wait_for(timeout=5000)
    text = await card.inner_text()
    for expected in ("王秀英", "84", "门口密码盒 2580", "高血压", "李明"):
        assert expected in text
    assert await card.locator("a.tel").first.get_attribute("href") == "tel:13800000001"
    await shot(board, "board-zh.png")
    await shot(phone, "worker-zh.png")

    # Another grid's worker: nothing on the page, and the API says 404.
    await other.wait_for_timeout(500)
    assert await other.locator("article.card").count() == 0
    assert (await other_ctx.request.get(f"/api/v1/alarms/{alarm_id}")).status == 404
    refused = await other_ctx.request.post(
        f"/api/v1/alarms/{alarm_id}/ack", data={}, headers={"X-Watchpost": "1"}
    )
    assert refused.status == 404

    await card.locator("button.ack").click()
    row = board.locator(f"tr[data-id='{alarm_id}']")
    await board.wait_for_selector(f"tr[data-id='{alarm_id}'].st-acknowledged", timeout=5000)
    assert "w-zhang-wei" in await row.inner_text()
    await board.wait_for_function("!window.watchpostSound.playing")
    await card.locator("button.arrived").click()
    await board.wait_for_selector(f"tr[data-id='{alarm_id}'].st-on_scene", timeout=5000)
    await card.locator("select.outcome").select_option("handled")
    await card.locator("button.resolve-btn").click()
    await row.wait_for(state="detached", timeout=5000)
    await card.wait_for(state="detached", timeout=5000)

    audit = await (await phone.context.request.get("/api/v1/audit")).json()
    assert audit == {"detail": audit["detail"], "code": "err.forbidden"}
    board_audit = await (await board.context.request.get("/api/v1/audit?action=alarm.ack")).json()
    assert [(e["username"], e["target"]) for e in board_audit] == [("zhang", alarm_id)]


@pytest.mark.integration
async def test_fire_sounds_until_acknowledged_and_broadcast_sounds_the_building(
    hub: Hub, browser: Browser, mosquitto: Mosquitto
) -> None:
    _, board = await logged_in(browser, hub, "duty", BOARD)
    # Two detectors of building 1 agree: a fire, not a pre-alarm.
    await publish(mosquitto, hub.site, "stair-b1", "smoke")
    await publish(mosquitto, hub.site, "home-b1-101", "smoke")
    await board.wait_for_selector("tr.alarm.cls-fire", timeout=5000)
    await board.wait_for_function("window.watchpostSound.beeps >= 3", timeout=10000)
    assert (await sound(board))["playing"] is True
    await board.keyboard.press("f")
    await board.keyboard.press("a")
    await board.wait_for_selector("tr.alarm.cls-fire.st-acknowledged", timeout=5000)
    await board.wait_for_function("!window.watchpostSound.playing")
    beeps = (await sound(board))["beeps"]
    await board.wait_for_timeout(1500)
    assert (await sound(board))["beeps"] == beeps

    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        await edge.subscribe(f"watchpost/v1/{hub.site}/dev/+/cmd", qos=1)
        await board.select_option("#bc-target", "b2")
        await board.click("#bc-start")
        await board.wait_for_function(
            "document.getElementById('bc-status').textContent.includes('stair-b2')"
        )
        await board.click("#bc-stop")
        got: list[tuple[str, bool]] = []
        async with asyncio.timeout(10):
            async for message in edge.messages:
                cmd = decode_command(bytes(message.payload))  # type: ignore[arg-type]
                if isinstance(cmd, SirenCmd) and cmd.alarm and cmd.alarm.startswith("bc-"):
                    got.append((str(message.topic).split("/")[-2], cmd.on))
                    if len(got) == 2:
                        break
    assert got == [("stair-b2", True), ("stair-b2", False)]


@pytest.mark.integration
async def test_pages_in_english(hub: Hub, browser: Browser, mosquitto: Mosquitto) -> None:
    _, board = await logged_in(browser, hub, "duty", BOARD)
    _, phone = await logged_in(browser, hub, "zhang", PHONE)
    await board.click("#lang")
    await board.wait_for_selector("body[data-ready='1']")
    await phone.click("#lang")
    await phone.wait_for_selector("body[data-ready='1']")
    await publish(mosquitto, hub.site, "home-b1-101", "call")
    await publish(mosquitto, hub.site, "home-b2-201", "fall")
    await board.wait_for_selector("tr.alarm.cls-fall", timeout=5000)
    await phone.wait_for_selector("article.card.cls-call", timeout=5000)
    assert await board.locator("h1").inner_text() == "Alarm board"
    assert "Accept" in await phone.locator("article.card").first.inner_text()
    await shot(board, "board-en.png")
    await shot(phone, "worker-en.png")


@pytest.mark.integration
async def test_absent_and_swap_from_the_board_drive_routing(
    hub: Hub, browser: Browser, mosquitto: Mosquitto
) -> None:
    _, board = await logged_in(browser, hub, "duty", BOARD)
    grid2 = board.locator("#duty div[data-grid='grid-2']")
    await grid2.locator("span[data-worker='w-li-na'] button.absent").click()
    await board.wait_for_selector("#duty div.warn[data-grid='grid-2']")
    await grid2.locator("select.swap-pick").select_option("w-wang-fang")
    await grid2.locator("button.swap").click()
    await board.wait_for_selector("#duty div[data-grid='grid-2'] span[data-worker='w-wang-fang']")
    await publish(mosquitto, hub.site, "home-b2-201", "call")
    row = board.locator("tr.alarm.cls-call")
    await row.wait_for(timeout=5000)
    assert "王芳" in await row.inner_text() and "李娜" not in await row.inner_text()
    entries = await (await board.context.request.get("/api/v1/audit")).json()
    assert [e["action"] for e in entries][:2] == ["roster.extra", "roster.absent"]


@pytest.mark.integration
async def test_phone_offline_shows_it_and_catches_up_on_reconnect(
    hub: Hub, browser: Browser, mosquitto: Mosquitto
) -> None:
    phone_ctx, phone = await logged_in(browser, hub, "zhang", PHONE)
    await phone_ctx.set_offline(True)
    await phone.wait_for_selector("#net.offline")
    await publish(mosquitto, hub.site, "home-b1-302", "call")  # raised while the phone is away
    await phone.wait_for_timeout(1000)
    assert await phone.locator("article.card").count() == 0
    await phone_ctx.set_offline(False)
    card = phone.locator("article.card.cls-call")
    await card.wait_for(timeout=20000)
    assert "赵国强" in await card.inner_text()
    await phone.wait_for_selector("#net.online")
    alarm_id = await card.get_attribute("data-id")
    # Accept in a dead spot: the tap is kept and sent when the network is back.
    await phone_ctx.set_offline(True)
    await phone.wait_for_selector("#net.offline")
    await card.locator("button.ack").click()
    await phone.wait_for_timeout(300)
    await phone_ctx.set_offline(False)
    await phone.wait_for_selector(f"article.card.st-acknowledged[data-id='{alarm_id}']")
    alarm = await (await phone_ctx.request.get(f"/api/v1/alarms/{alarm_id}")).json()
    assert alarm["alarm"]["acknowledged_by"] == "w-zhang-wei"
