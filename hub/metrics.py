"""Prometheus metrics of one hub process (own registry, so several hubs can share a process)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _InfluxCollector(Collector):
    """Expose the InfluxDB writer's counters at scrape time."""

    def __init__(self, source: Callable[[], Mapping[str, int | str]]) -> None:
        self.source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield one gauge per numeric writer counter, and the text ones as labels."""
        numbers = GaugeMetricFamily(
            "watchpost_influx_writer", "InfluxDB writer counters", labels=["stat"]
        )
        texts = GaugeMetricFamily(
            "watchpost_influx_writer_info", "InfluxDB writer facts", labels=["stat", "value"]
        )
        for name, value in sorted(self.source().items()):
            if isinstance(value, str):
                texts.add_metric([name, value], 1.0)
            else:
                numbers.add_metric([name], float(value))
        yield numbers
        yield texts


class HubMetrics:
    """Every counter, gauge and histogram of the hub, in its own CollectorRegistry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._define_ingest(self.registry)
        self._define_dispatch(self.registry)
        self._define_trust(self.registry)
        self._dropped_last: float | None = None

    def _define_ingest(self, r: CollectorRegistry) -> None:
        self.messages = Counter(
            "watchpost_ingest_messages", "Messages received, per channel", ["channel"], registry=r
        )
        self.rejected = Counter(
            "watchpost_ingest_rejected", "Messages dropped, per reason", ["reason"], registry=r
        )
        self.duplicates = Counter(
            "watchpost_ingest_duplicates", "Events already processed (redeliveries)", registry=r
        )
        self.engine_errors = Counter(
            "watchpost_engine_errors", "Inputs the engine failed on (left un-acked)", registry=r
        )
        self.event_to_store = Histogram(
            "watchpost_event_to_store_seconds",
            "From the event's own timestamp to its commit in the store",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.receive_to_store = Histogram(
            "watchpost_receive_to_store_seconds",
            "From receipt by the hub to commit in the store",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.gc_pause = Histogram(
            "watchpost_gc_pause_seconds",
            "Pauses of Python's cyclic garbage collector (the whole hub stops meanwhile)",
            ["generation"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.batch_size = Histogram(
            "watchpost_ingest_batch_size",
            "Events committed together in one store transaction (group commit)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_fallbacks = Counter(
            "watchpost_ingest_batch_fallbacks",
            "Group commits that failed and were retried one event per transaction",
            registry=r,
        )

    def _define_dispatch(self, r: CollectorRegistry) -> None:
        self.alarms = Gauge(
            "watchpost_alarms_reached",
            "Alarms in the store that ever reached a state, by class and state",
            ["cls", "state"],
            registry=r,
        )
        self.deliveries = Counter(
            "watchpost_dispatch_deliveries",
            "Alarm deliveries by channel and result",
            ["channel", "result"],
            registry=r,
        )
        self.commands = Counter(
            "watchpost_dispatch_commands",
            "Device commands published, by result",
            ["result"],
            registry=r,
        )
        self.dispatch_queue = Gauge(
            "watchpost_dispatch_queue_depth", "Actions waiting for dispatch", registry=r
        )
        self.bus_connected = Gauge(
            "watchpost_bus_connected", "1 while an MQTT path is connected", ["path"], registry=r
        )
        self.broker = Gauge(
            "watchpost_broker_sys", "Mosquitto $SYS counters the hub watches", ["stat"], registry=r
        )
        self.broker_dropped = Counter(
            "watchpost_broker_dropped_increase",
            "Messages the broker dropped while this hub watched (should stay 0)",
            registry=r,
        )

    def _define_trust(self, r: CollectorRegistry) -> None:
        self.outbox_oldest = Gauge(
            "watchpost_outbox_oldest_seconds",
            "Age of the oldest page or command not yet delivered (0: none)",
            registry=r,
        )
        self.outbox_resent = Counter(
            "watchpost_outbox_resent",
            "Outbox rows read back and sent again (after a crash or failed retries)",
            ["result"],
            registry=r,
        )
        self.dead_letters = Gauge(
            "watchpost_dead_letters", "Alarm-path messages kept as dead letters", registry=r
        )
        self.dead_lettered = Counter(
            "watchpost_dead_lettered",
            "Messages the engine failed on after every try, kept and acknowledged",
            registry=r,
        )
        self.store_write_failures = Counter(
            "watchpost_store_write_failures",
            "Alarm-path store writes that failed (disk full, database down)",
            registry=r,
        )
        self.store_writable = Gauge(
            "watchpost_store_writable", "1 while the last store write succeeded", registry=r
        )
        self.store_writable.set(1)
        self.store_write_ok = True
        self.bus_reconnects = Counter(
            "watchpost_bus_reconnects",
            "MQTT path reconnections (after the first connection)",
            ["path"],
            registry=r,
        )
        self.heartbeats_routine = Counter(
            "watchpost_ingest_heartbeats_routine",
            "Heartbeats that changed nothing: acked at once, written in batches, no engine",
            registry=r,
        )
        self.clock_skewed = Counter(
            "watchpost_ingest_clock_skewed",
            "Events from a device clock off by more than 5 minutes (flagged, hub time used)",
            ["direction"],
            registry=r,
        )

    def store_write(self, ok: bool) -> None:
        """Record whether the last store write worked (gauge, and `store_write_ok`)."""
        self.store_write_ok = ok
        self.store_writable.set(1 if ok else 0)
        if not ok:
            self.store_write_failures.inc()

    def watch_influx(self, source: Callable[[], Mapping[str, int | str]]) -> None:
        """Expose the InfluxDB writer's `stats()` at every scrape."""
        self.registry.register(_InfluxCollector(source))

    def set_alarm_counts(self, counts: Mapping[str, Mapping[str, int]]) -> None:
        """Replace the alarm gauges with the store's counts ({class: {state: n}})."""
        self.alarms.clear()
        for cls, per_state in counts.items():
            for state, n in per_state.items():
                self.alarms.labels(cls, state).set(n)

    @property
    def broker_dropped_total(self) -> int:
        """Return the broker's drop counter as last reported (0 before the first report)."""
        return int(self._dropped_last or 0)

    def broker_stat(self, topic: str, payload: bytes) -> int:
        """Record one `$SYS` value; return how many messages the broker dropped since the last.

        The first report is the baseline (drops from before the hub watched are not counted);
        a counter that went down (broker restart) is a new baseline. Each increase is logged.
        """
        try:
            value = float(payload.decode("ascii", "replace").split()[0])
        except (ValueError, IndexError):
            return 0
        stat = topic.removeprefix("$SYS/broker/").replace("/", "_")
        self.broker.labels(stat).set(value)
        if stat != "publish_messages_dropped":
            return 0
        increase = 0
        if self._dropped_last is not None and value > self._dropped_last:
            increase = int(value - self._dropped_last)
            self.broker_dropped.inc(increase)
            log.warning(
                "broker dropped %d messages since the last report (total %d): raise "
                "max_queued_messages or find the slow subscriber",
                increase,
                value,
            )
        self._dropped_last = value
        return increase

    def render(self) -> bytes:
        """Return the Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
