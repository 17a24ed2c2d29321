"""What Mosquitto does with a dead member of a share group (docs/deployment.md relies on it).

Two persistent-session QoS 1 subscribers in one group; one never acknowledges and then dies.
Mosquitto keeps it in the round-robin: its un-acknowledged messages AND every second new message
wait in its session until the same client id is back; none goes to the live member. So the
dead hub's restart (systemd `Restart=always`) is part of the failover on Mosquitto.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest

from simulators.services import Mosquitto

pytestmark = pytest.mark.integration

GROUP = "$share/g/t/#"


class Member:
    def __init__(self, broker: Mosquitto, name: str, *, ack: bool = True) -> None:
        self.got: list[int] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name,
                                  clean_session=False, protocol=mqtt.MQTTv311)  # fmt: skip
        self.client.manual_ack_set(not ack)  # never acked: as a hub that dies before commit
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port, 5)
        self.client.subscribe(GROUP, 1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.got.append(int(msg.payload))

    def crash(self) -> None:
        """Close the socket without DISCONNECT, as a SIGKILL would."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()


def until(check: Callable[[], bool], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_mosquitto_keeps_a_dead_members_share_until_it_is_back(mosquitto: Mosquitto) -> None:
    live, dying = Member(mosquitto, "hub-a"), Member(mosquitto, "hub-b", ack=False)
    time.sleep(0.3)  # both SUBACKed
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        for i in range(10):
            pub.publish("t/x", str(i), qos=1).wait_for_publish(5)
        until(lambda: len(live.got) + len(dying.got) == 10)
        unacked = list(dying.got)
        assert len(unacked) == 5 and len(live.got) == 5  # round-robin
        dying.crash()
        time.sleep(0.5)
        for i in range(10, 30):
            pub.publish("t/x", str(i), qos=1).wait_for_publish(5)
        until(lambda: len(live.got) == 15)
        time.sleep(0.5)
        # Only every second new message reached the live member: the dead one still gets its turn.
        assert live.got[5:] == list(range(10, 30, 2))
        back = Member(mosquitto, "hub-b")
        until(lambda: len(back.got) == 15)
        # Back with the same client id: its un-acked messages and its share of the new ones.
        assert sorted(back.got) == sorted(unacked + list(range(11, 30, 2)))
        back.client.loop_stop()
        live.client.loop_stop()
    finally:
        pub.loop_stop()
