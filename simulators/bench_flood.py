"""The telemetry benchmark's own processes: a raw-socket QoS 0 flood and a bare gmqtt subscriber.

Each runs as `python -m simulators.bench_flood …` in a process of its own, so neither shares a
GIL with the bench or with what it measures; each prints one JSON line when it ends.

* ``publish``: pre-encodes N telemetry PUBLISH packets (MQTT 3.1.1, QoS 0, a distinct
  timestamp per message so InfluxDB keeps every point) and writes them to one socket, flat out
  or paced at `--rate` messages/s, 500 per write.
* ``gmqtt``: subscribes to the telemetry topics with gmqtt and counts what arrives until
  `--expect` messages came or none for `--idle` seconds: the fastest a Python subscriber gets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from datetime import UTC, datetime, timedelta


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def _str(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def packets(site: str, devices: list[str], n: int, start: datetime) -> list[bytes]:
    """Return n telemetry PUBLISH packets, round-robin over devices, 1 ms apart."""
    out = []
    for i in range(n):
        device = devices[i % len(devices)]
        ts = (start + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        doc = {
            "v": 1,
            "device": device,
            "ts": ts.replace("+00:00", "Z"),
            "readings": {"smoke_level": 0.05, "uptime_s": float(i)},
        }
        payload = json.dumps(doc, separators=(",", ":")).encode()
        topic = f"watchpost/v1/{site}/dev/{device}/telemetry"
        out.append(_packet(0x30, _str(topic) + payload))
    return out


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


async def count_gmqtt(port: int, expect: int, idle_s: float) -> dict[str, float]:
    """Count telemetry messages with a bare gmqtt subscriber; return count and arrival times."""
    import gmqtt

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
    ready = time.time()
    print(json.dumps({"ready": True}), flush=True)  # noqa: T201 - the parent reads it
    while True:
        await asyncio.sleep(0.2)
        quiet = time.time() - (last or ready)
        if got >= expect or quiet > idle_s:
            break
    await client.disconnect()
    return {"received": got, "first": first, "last": last}


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
    sub_g = sub.add_parser("gmqtt")
    sub_g.add_argument("--port", type=int, required=True)
    sub_g.add_argument("--expect", type=int, required=True)
    sub_g.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.cmd == "publish":
        devices = args.devices.split(",")
        result = publish(args.port, args.site, devices, args.n, args.rate)
    else:
        result = asyncio.run(count_gmqtt(args.port, args.expect, args.idle))
    print(json.dumps(result), flush=True)  # noqa: T201 - the parent reads it
    return 0


if __name__ == "__main__":
    sys.exit(main())
