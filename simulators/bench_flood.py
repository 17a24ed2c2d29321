"""The telemetry benchmark's own processes: a raw-socket QoS 0 flood and a bare gmqtt subscriber.

Each runs as `python -m simulators.bench_flood …` in a process of its own, so neither shares a
GIL with the bench or with what it measures; each prints one JSON line when it ends.

* ``publish``: pre-encodes N telemetry PUBLISH packets (MQTT 3.1.1, QoS 0, a distinct
  timestamp per message so InfluxDB keeps every point) and writes them to one socket, flat out
  or paced at `--rate` messages/s, 500 per write.
* ``broker``: a stand-in broker for the hub alone (no Mosquitto in the way, so the offered
  rate can exceed what the hub takes): it accepts any MQTT 3.1.1 or 5 client (CONNACK, SUBACK,
  PUBACK, PINGRESP; the hub's alarm path speaks MQTT 5), and on each `send N RATE` line on
  stdin writes N telemetry messages to the connection whose client id ends in `-telemetry`,
  paced (or flat out with RATE 0) and only as fast as that client reads (TCP back-pressure,
  as a real broker's socket would give).
* ``gmqtt``: subscribes to the telemetry topics with gmqtt and counts what arrives until
  `--expect` messages came or none for `--idle` seconds: the fastest a Python subscriber gets
  (over TCP, or with `--socket` over the broker's Unix socket).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hub.telemetry.wire import varint


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def _str(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def packets(site: str, devices: list[str], n: int, start: datetime) -> list[bytes]:
    """Return n telemetry PUBLISH packets, round-robin over devices, 1 ms apart.

    Each payload is what `json.dumps(…, separators=(",", ":"))` writes for
    `{"v": 1, "device": …, "ts": "…Z" (ms), "readings": {"smoke_level": 0.05, "uptime_s": i}}`,
    formatted from a template (a few million of them are made for the paced phases).
    """
    topics = [_str(f"watchpost/v1/{site}/dev/{device}/telemetry") for device in devices]
    names = [device.encode() for device in devices]
    first_ms = (start - _EPOCH) // timedelta(milliseconds=1)
    out, second, prefix = [], -1, b""
    for i in range(n):
        ms = first_ms + i
        if ms // 1000 != second:
            second = ms // 1000
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        k = i % len(devices)
        body = topics[k] + _PAYLOAD % (names[k], prefix, ms % 1000, repr(float(i)).encode())
        out.append(bytes([0x30]) + varint(len(body)) + body)
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAYLOAD = b'{"v":1,"device":"%s","ts":"%s.%03dZ","readings":{"smoke_level":0.05,"uptime_s":%s}}'


def publish(port: int, site: str, devices: list[str], n: int, rate: float) -> dict[str, float]:
    """Send n messages flat out (rate 0) or paced; return what was sent and when."""
    start = datetime.now(UTC) - timedelta(hours=1)
    todo = packets(site, devices, n, start)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(_packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + _str(f"bench-flood-{port}")))
    if sock.recv(4)[:1] != b"\x20":
        raise SystemExit("broker refused the flood's CONNECT")
    chunk, started, wall = 500, time.monotonic(), time.time()
    for i in range(0, n, chunk):
        sock.sendall(b"".join(todo[i : i + chunk]))
        if rate:
            ahead = started + (i + chunk) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    seconds = time.monotonic() - started
    sock.sendall(b"\xe0\x00")
    sock.close()
    return {"sent": n, "seconds": seconds, "started": wall, "ended": wall + seconds}


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        digit = (await reader.readexactly(1))[0]
        length |= (digit & 0x7F) << shift
        if not digit & 0x80:
            break
        shift += 7
    return first, await reader.readexactly(length)


def _varint_at(buf: bytes, i: int) -> tuple[int, int]:
    """Return (value, index after it) of the MQTT variable-length integer at buf[i]."""
    value, shift = 0, 0
    while True:
        digit = buf[i]
        i += 1
        value |= (digit & 0x7F) << shift
        if not digit & 0x80:
            return value, i
        shift += 7


CHUNK = 500
"""Packets per write of the stand-in broker."""
BLOCK = 1_000_000
"""Distinct packets the stand-in makes for one `send` at most (~150 MB)."""


def _chunks(site: str, devices: list[str], n: int,
            start: datetime) -> tuple[list[bytes], list[bytes]]:  # fmt: skip
    """Return min(n, BLOCK) packets as writes of CHUNK packets, and n's last partial chunk."""
    made = packets(site, devices, min(n, BLOCK), start)
    tail = made[len(made) - n % CHUNK :] if n % CHUNK else []
    full = [b"".join(made[i : i + CHUNK]) for i in range(0, len(made) - CHUNK + 1, CHUNK)]
    return full, tail


class StandIn:
    """The stand-in broker: answers every client, floods the telemetry one on request."""

    def __init__(self, site: str, devices: list[str]) -> None:
        self.site, self.devices = site, devices
        self.telemetry: asyncio.StreamWriter | None = None
        self.ready = asyncio.Event()
        self.sent_total = 0

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it goes away."""
        version = [4]  # the client's protocol level, from its CONNECT
        try:
            while True:
                first, body = await _read_packet(reader)
                self._answer(first, body, writer, version)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _answer(self, first: int, body: bytes, writer: asyncio.StreamWriter,
                version: list[int]) -> None:  # fmt: skip
        kind, v5 = first >> 4, version[0] == 5
        if kind == 1:  # CONNECT: name(2+4) level flags keepalive(2) [properties], client id
            version[0] = body[6]
            at = 10
            if body[6] == 5:
                size, at = _varint_at(body, at)
                at += size
            cid_len = int.from_bytes(body[at : at + 2], "big")
            if body[at + 2 : at + 2 + cid_len].endswith(b"-telemetry"):
                self.telemetry = writer
            writer.write(b"\x20\x03\x00\x00\x00" if body[6] == 5 else b"\x20\x02\x00\x00")
        elif kind == 8:  # SUBSCRIBE: packet id [properties] (filter, options)…: grant them
            i, codes = 2, bytearray()
            if v5:
                size, i = _varint_at(body, i)
                i += size
            while i < len(body):
                i += 2 + int.from_bytes(body[i : i + 2], "big")
                codes.append(body[i] & 0x03)
                i += 1
            props = b"\x00" if v5 else b""
            writer.write(_packet(0x90, body[:2] + props + bytes(codes)))
            if writer is self.telemetry:
                self.ready.set()
        elif kind == 12:
            writer.write(b"\xd0\x00")
        elif kind == 3 and first & 0x06:  # QoS 1 PUBLISH from the hub: PUBACK
            at = 2 + int.from_bytes(body[:2], "big")
            writer.write(b"\x40\x02" + body[at : at + 2])
        elif kind == 6:  # PUBREL
            writer.write(b"\x70\x02" + body[:2])

    async def send(self, n: int, rate: float) -> dict[str, float]:
        """Write n telemetry messages to the telemetry client; return what and how fast."""
        await asyncio.wait_for(self.ready.wait(), 60)
        start = datetime.now(UTC) - timedelta(hours=2) + timedelta(milliseconds=self.sent_total)
        # Made in a thread, so that this loop still answers the hub's PINGREQs meanwhile (a
        # few million packets take longer than the hub's 30 s keepalive); at most BLOCK
        # distinct packets, sent over again for a larger n (their points then overwrite each
        # other in InfluxDB; what the phase counts is the hub's own counters).
        chunks, tail = await asyncio.to_thread(_chunks, self.site, self.devices, n, start)
        self.sent_total += n
        writer = self.telemetry
        assert writer is not None
        started, wall = time.monotonic(), time.time()
        full = (n - len(tail)) // CHUNK
        for k in range(full + 1):
            if k == full and not tail:
                break
            writer.write(chunks[k % len(chunks)] if k < full else b"".join(tail))
            await writer.drain()
            if rate:
                ahead = started + (k + 1) * CHUNK / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        seconds = time.monotonic() - started
        return {"sent": n, "seconds": seconds, "started": wall, "ended": wall + seconds}


async def stand_in(site: str, devices: list[str]) -> None:
    """Serve on a free port (printed as JSON), obey `send N RATE` lines until `quit`."""
    broker = StandIn(site, devices)
    server = await asyncio.start_server(broker.client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)  # noqa: T201 - the parent reads it
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        result = await broker.send(int(line[1]), float(line[2]))
        print(json.dumps(result), flush=True)  # noqa: T201 - the parent reads it
    server.close()


async def count_gmqtt(
    port: int, expect: int, idle_s: float, sock: str | None = None
) -> dict[str, float]:
    """Count telemetry messages with a bare gmqtt subscriber; return count and arrival times.

    `sock`: connect to the broker's Unix socket instead of 127.0.0.1:`port`. gmqtt speaks TCP
    only, so its loop's `create_connection` is pointed at the socket: the same client and
    parser, another transport (the bench compares the hub with it on the same one).
    """
    import gmqtt

    if sock is not None:
        loop = asyncio.get_running_loop()

        async def over_socket(
            factory: Callable[[], asyncio.Protocol], *args: object, **kwargs: object
        ) -> tuple[asyncio.Transport, asyncio.Protocol]:
            return await loop.create_unix_connection(factory, sock)

        loop.create_connection = over_socket  # type: ignore[method-assign,assignment]

    got, first, last = 0, 0.0, 0.0
    ready = time.time()

    def on_message(client: object, topic: str, payload: bytes, qos: int, props: object) -> int:
        nonlocal got, first, last
        last = time.time()
        if not got:
            first = last
        got += 1
        return 0

    subscribed = asyncio.Event()
    client = gmqtt.Client(f"bench-gmqtt-{port}", clean_session=True)
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    await client.connect("127.0.0.1", port, version=gmqtt.constants.MQTTv311)
    client.subscribe("watchpost/v1/+/dev/+/telemetry", qos=0)
    await asyncio.wait_for(subscribed.wait(), 10)
    ready, cpu = time.time(), time.process_time()
    print(json.dumps({"ready": True}), flush=True)  # noqa: T201 - the parent reads it
    while True:  # `idle_s` counts from the last message; the first may take a while to come
        await asyncio.sleep(0.2)
        quiet = time.time() - last if got else (time.time() - ready) / 40
        if got >= expect or quiet > idle_s:
            break
    cpu = time.process_time() - cpu
    await client.disconnect()
    return {"received": got, "first": first, "last": last, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print its JSON result."""
    parser = argparse.ArgumentParser(prog="python -m simulators.bench_flood")
    sub = parser.add_subparsers(dest="cmd", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--port", type=int, required=True)
    pub.add_argument("--site", required=True)
    pub.add_argument("--devices", required=True, help="comma-separated device ids")
    pub.add_argument("--n", type=int, required=True)
    pub.add_argument("--rate", type=float, default=0.0)
    stand = sub.add_parser("broker")
    stand.add_argument("--site", required=True)
    stand.add_argument("--devices", required=True, help="comma-separated device ids")
    sub_g = sub.add_parser("gmqtt")
    sub_g.add_argument("--port", type=int, required=True)
    sub_g.add_argument("--expect", type=int, required=True)
    sub_g.add_argument("--idle", type=float, default=3.0)
    sub_g.add_argument("--socket", default=None, help="the broker's Unix socket, not --port")
    args = parser.parse_args(argv)
    if args.cmd == "broker":
        asyncio.run(stand_in(args.site, args.devices.split(",")))
        return 0
    if args.cmd == "publish":
        devices = args.devices.split(",")
        result = publish(args.port, args.site, devices, args.n, args.rate)
    else:
        result = asyncio.run(count_gmqtt(args.port, args.expect, args.idle, args.socket))
    print(json.dumps(result), flush=True)  # noqa: T201 - the parent reads it
    return 0


if __name__ == "__main__":
    sys.exit(main())
