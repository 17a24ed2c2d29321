"""The hub process: one TaskGroup running ingest, dispatch, the engine's timers and the API.

`run(settings)` is the whole process; `main()` (via `watchpost hub`) builds settings first.
Shutdown (SIGTERM/SIGINT or `stop` set): the API stops accepting, the dispatch queues get
`shutdown_timeout_s` to drain, then every task is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from hub import duty
from hub.accounts import Accounts
from hub.alarms.engine import Engine
from hub.alarms.service import AlarmService
from hub.api import ApiContext, create_app
from hub.bus import BrokerAddress, Bus
from hub.dispatch import AppriseNotifier, Dispatcher, WebhookSender
from hub.dispatch.direct import DirectPager, Roster
from hub.dispatch.notifier import load_plugins
from hub.health import HealthWatch, StoreQueues
from hub.heartbeat import Heartbeat
from hub.import_child import ImportChild
from hub.influx import InfluxSettings, InfluxWriter
from hub.ingest import MAX_BATCH, Ingest
from hub.limits import SenderLimits
from hub.liveness import Liveness
from hub.metrics import HubMetrics
from hub.policy import Policy, load_policy
from hub.registry_start import Preparation
from hub.settings import HubSettings
from hub.stats import write_stats
from hub.store import Store
from hub.store.schema import DeviceRow
from hub.telemetry import Endpoint, TelemetryLane
from protocol.messages import utcnow
from protocol.site_config import Registry

log = logging.getLogger(__name__)


TAKEOVER_S = 10.0
"""Several hubs: an undelivered page is resent by any hub once it is this old (its writer died)."""


class _Stop(Exception):  # noqa: N818 - a signal to the TaskGroup, not an error
    """Raised inside the TaskGroup to cancel every task once the drain is over."""


_DEVICE_COLUMNS = DeviceRow.__table__.c
_ALL_DEVICES = str(select(_DEVICE_COLUMNS.site, _DEVICE_COLUMNS.id, _DEVICE_COLUMNS.grid))
"""Every registered device with its grid, as plain SQL for the driver's cursor."""


class StoreDirectory:
    """Device lookups for both lanes: the registry in memory, the store asked on a miss.

    `load()` reads every registered device in one query at start-up, so a lookup is a dict
    hit, not two thread hops and two queries. The alarm lane (`device_grid`) still asks the
    store about a device it has not seen (registered by another hub sharing the store) and
    remembers it; the telemetry lane (`cached_grid`) never waits: a miss there is unknown.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._grids: dict[tuple[str, str], str] = {}

    def load(self) -> int:
        """Read every registered device (site, id, grid) from the store; return how many."""
        # The driver's own cursor: 100,000 rows in 0.13-0.30 s here, through Core 0.5-0.6 s
        # (on the first start's path to /healthz).
        with self.store.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(_ALL_DEVICES)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        self._grids = {(site, device): grid or "" for site, device, grid in rows}
        return len(self._grids)

    def grids(self, site: str) -> dict[tuple[str, str], str]:
        """Return every known device of `site` with its grid."""
        return {key: grid for key, grid in self._grids.items() if key[0] == site}

    def cached_grid(self, site: str, device: str) -> str | None:
        """Return the device's grid if it is known in memory, else None (never blocks)."""
        return self._grids.get((site, device))

    async def device_grid(self, site: str, device: str) -> str | None:
        """Return the device's grid, or None if the device is not registered."""
        key = (site, device)
        if key in self._grids:
            return self._grids[key]
        if not await asyncio.to_thread(self.store.known_device, site, device):
            return None
        ctx = await asyncio.to_thread(self.store.device_context, site, device)
        if ctx is None:
            return None
        self._grids[key] = ctx.grid
        return ctx.grid


class StoreDeliveries:
    """The dispatcher's delivery log, kept in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self, alarm_id: str, worker: str, channel: str, tier: int, ok: bool, detail: str
    ) -> None:
        """Record one delivery as 'sent' or 'failed'."""
        status = "sent" if ok else "failed"
        await asyncio.to_thread(
            self.store.record_delivery, alarm_id, worker, channel, status, tier, detail
        )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the hub's TaskGroup owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the hub process."""
        yield


def build_engine(settings: HubSettings, store: Store) -> AlarmService:
    """Build the alarm engine with the configured (or built-in) policy and the UTC clock."""
    policy = load_policy(settings.policy) if settings.policy else Policy()
    sites = None if settings.site is None else (settings.site,)
    engine: AlarmService = Engine(store, policy, utcnow, sites=sites)
    return engine


def worker_channels(registry: Registry | None) -> Mapping[tuple[str, str], Sequence[str]]:
    """Return each worker's extra notify channels from the registry."""
    if registry is None:
        return {}
    site = registry.site.site
    return {(site, w.id): tuple(w.notify) for w in registry.site.workers if w.notify}


async def _prepare_store(
    settings: HubSettings, child: ImportChild | None = None, prepared: Preparation | None = None
) -> tuple[Store, Registry | None]:
    """Migrate the store and import the registry if it changed (`hub.registry_start`), unless
    `prepared` began that already; stop `child` (an import process started early by
    `watchpost hub`, see `hub.import_child`) either way."""
    try:
        if prepared is None:
            prepared = await asyncio.to_thread(Preparation.begin, settings, child)
        finishing = asyncio.create_task(asyncio.to_thread(prepared.finish))
        load_plugins()  # while a registry import runs; the first notifier would load them
        return prepared.store, await finishing
    finally:  # not needed, done, or the migration failed or was cancelled
        if prepared is not None:
            prepared.stop()
        elif child is not None:
            child.stop()


async def run(
    settings: HubSettings,
    stop: asyncio.Event | None = None,
    prepared: Preparation | None = None,
) -> None:
    """Run the hub until `stop` is set (or, without `stop`, until SIGTERM/SIGINT), then stop.

    `prepared`: the store's preparation as `watchpost hub` began it (`hub.registry_start`),
    which `run` finishes."""
    loop = asyncio.get_running_loop()
    installed = []
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    store, registry = await _prepare_store(settings, prepared=prepared)
    try:
        await _run(settings, store, registry, stop)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        store.close()


def _influx_settings(settings: HubSettings) -> InfluxSettings:
    return InfluxSettings(
        url=settings.influx,
        database=settings.influx_database,
        username=settings.influx_username,
        password=settings.secret("influx_password"),
        spill_dir=settings.influx_spill_dir,
    )


def _api_server(settings: HubSettings, ctx: ApiContext) -> _Server:
    if ctx.token is None:
        log.warning("no API token configured: every /api/v1 request will get 401")
    config = uvicorn.Config(
        create_app(ctx),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_s / 2)),
        access_log=False,
    )
    return _Server(config)


async def _run(
    settings: HubSettings, store: Store, registry: Registry | None, stop: asyncio.Event
) -> None:
    metrics = HubMetrics()
    engine = build_engine(settings, store)
    address = BrokerAddress.from_url(
        settings.broker,
        settings.broker_username,
        settings.secret("broker_password"),
        settings.broker_ca_file,
    )
    site = settings.site or (registry.site.site if registry is not None else None)
    heartbeat = None if site is None else Heartbeat(site, settings.name, settings.heartbeat_s)
    will = None if heartbeat is None else (heartbeat.topic, heartbeat.payload(online=False))
    bus = Bus(
        address, settings.name, site=settings.site, will=will, share_group=settings.share_group
    )
    async with InfluxWriter(_influx_settings(settings)) as writer, httpx.AsyncClient() as http:
        metrics.watch_influx(writer.stats)
        dispatcher = Dispatcher(
            bus,
            writer,
            StoreDeliveries(store),
            metrics,
            WebhookSender(http, settings.secret("webhook_secret"), settings.webhook_timeout_s),
            AppriseNotifier(settings.webhook_timeout_s),
            channels=worker_channels(registry),
            queue_size=settings.dispatch_queue,
            attempts=settings.webhook_attempts,
        )
        roster = Roster.from_registry(registry)
        pager = DirectPager(bus, AppriseNotifier(settings.webhook_timeout_s), roster)
        # Several hubs: a sweep claims the rows it resends, and leaves a peer's fresh rows to
        # that peer for TAKEOVER_S (docs/deployment.md, "Several hubs").
        group = settings.share_group is not None
        queues = StoreQueues(store, owner=settings.name if group else None)
        liveness = Liveness()
        liveness.prime(await asyncio.to_thread(store.online_devices))
        directory = StoreDirectory(store)
        log.info("%d registered devices in memory", await asyncio.to_thread(directory.load))
        rehearsed = await engine.rehearse()  # the first SOS after a start at full speed
        if rehearsed is not None:
            log.info("SOS path rehearsed (rolled back) in %.0f ms", rehearsed * 1e3)
        if registry is not None and not registry.devices:  # not re-read: the store has them
            roster.device_grid.update(directory.grids(registry.site.site))
        ingest = Ingest(
            engine,
            directory,
            writer,
            metrics,
            dispatcher.submit,
            crash_before_commit=settings.test_crash_before_commit,
            crash_after_commit=settings.test_crash_after_commit,
            letters=queues,
            alarm=pager,
            limits=SenderLimits(settings.sender_rate_per_s, settings.sender_burst),
            liveness=liveness,
        )
        watch = HealthWatch(settings.name, store, bus, dispatcher, metrics, pager)

        async def health() -> dict[str, Any]:
            return watch.report(writer.stats() if settings.influx else "disabled")

        token = settings.secret("api_token")
        accounts = Accounts(store, ttl_s=settings.session_ttl_s, max_age_s=settings.session_max_s)
        ctx = ApiContext(
            engine,
            store,
            metrics,
            dispatcher.submit,
            health,
            token,
            accounts=accounts,
            openapi=settings.openapi_access,
            metrics_access=settings.metrics_access,
            secure_cookies=settings.secure_cookies,
            trusted_proxies=frozenset(settings.trusted_proxies),
        )
        lane = TelemetryLane(
            _telemetry_endpoint(address, settings.name, settings.broker_socket),
            writer,
            metrics,
            directory.cached_grid,
            ingest.on_broker_sys,
            site=settings.site,
            share_group=settings.share_group,
        )
        background = {
            "telemetry-lane": lane.run(),
            "outbox": dispatcher.run_outbox(
                queues,
                resend_after_s=TAKEOVER_S if group else 3.0,
                first_after_s=TAKEOVER_S if group else 0.0,
            ),
            "direct-pager": pager.run(),
            "health": watch.run(),
            "liveness": ingest.run_liveness(queues),
            "duty-watch": duty.watch(
                store, engine, writer, dispatcher.submit, settings.duty_watch_s
            ),
        }
        if heartbeat is not None:
            background["heartbeat"] = heartbeat.run(bus)
        if writer.enabled:
            background["hub-stats"] = write_stats(
                settings.name, metrics, lane.stats, writer.stats, dispatcher.pending, writer.submit
            )
        server = _api_server(settings, ctx)
        with _settled_gc(metrics):
            await _serve(
                settings, stop, bus, ingest, dispatcher, engine, server, background, heartbeat
            )


@contextlib.contextmanager
def _settled_gc(metrics: HubMetrics) -> Iterator[None]:
    """Move what start-up built (the registry in memory) out of the cyclic GC's way; time pauses.

    Measured with 100,000 devices heartbeating: full collections walked the start-up objects and
    stopped the hub for ~300 ms every few seconds, the SOS with it; after `gc.freeze()` (and
    per-device state kept as plain values, `hub.liveness`, `hub.limits`) none of the SOS
    exceeded 51 ms (docs/hub.md, "Memory and GC"). Every pause is observed in
    `watchpost_gc_pause_seconds`.
    """
    gc.collect()
    gc.freeze()
    started: list[float] = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            metrics.gc_pause.labels(str(info["generation"])).observe(
                time.perf_counter() - started[0]
            )

    gc.callbacks.append(timed)
    try:
        yield
    finally:
        gc.callbacks.remove(timed)
        gc.unfreeze()  # a hub run inside a longer process (tests) gives its objects back


def _telemetry_endpoint(address: BrokerAddress, name: str, sock: Path | None = None) -> Endpoint:
    """Return the telemetry lane's login: `<user>-telemetry`, like the alarm path's `-events`.

    With `sock` (`broker_socket`) it connects to the broker's Unix socket, without TLS: the same
    broker on this machine, the same user and password.
    """
    client_id = f"{address.username or f'watchpost-hub-{name}'}-telemetry"
    return Endpoint(
        address.host,
        address.port,
        client_id,
        None if address.username is None else client_id,
        address.password,
        tls=address.tls and sock is None,
        ca_file=address.ca_file,
        socket=sock,
    )


async def _serve(
    settings: HubSettings,
    stop: asyncio.Event,
    bus: Bus,
    ingest: Ingest,
    dispatcher: Dispatcher,
    engine: AlarmService,
    server: _Server,
    background: Mapping[str, Coroutine[Any, Any, None]],
    heartbeat: Heartbeat | None = None,
) -> None:
    """Run every long-lived task in one TaskGroup until `_shutdown` ends it."""
    try:
        async with asyncio.TaskGroup() as tg:
            for name, work in background.items():
                tg.create_task(work, name=name)
            tg.create_task(
                bus.run_batches("alarm", ingest.on_alarm_batch, max_batch=MAX_BATCH, lanes=True),
                name="bus-alarm",
            )
            for i in range(settings.dispatch_workers):
                tg.create_task(dispatcher.run_fast(), name=f"dispatch-fast-{i}")
                tg.create_task(dispatcher.run_slow(), name=f"dispatch-slow-{i}")
            tg.create_task(_tick(engine, dispatcher, settings.tick_s), name="engine-tick")
            api = tg.create_task(server.serve(), name="api")
            tg.create_task(
                _shutdown(stop, server, api, dispatcher, settings, heartbeat, bus), name="shutdown"
            )
    except* _Stop:
        log.info("hub stopped")


async def _tick(engine: AlarmService, dispatcher: Dispatcher, every_s: float) -> None:
    """Run the engine's timers (escalation, supervision, inactivity) every `every_s`."""
    while True:
        await asyncio.sleep(every_s)
        try:
            outcome = await engine.tick(utcnow())
        except Exception:
            log.exception("engine tick failed; trying again in %.1f s", every_s)
            continue
        if outcome.actions:
            await dispatcher.submit(outcome.actions)


async def _shutdown(
    stop: asyncio.Event,
    server: uvicorn.Server,
    api: asyncio.Task[None],
    dispatcher: Dispatcher,
    settings: HubSettings,
    heartbeat: Heartbeat | None = None,
    bus: Bus | None = None,
) -> None:
    """Wait for the stop signal, stop the API, drain dispatch in bounded time, then stop all."""
    await stop.wait()
    log.info("stopping: draining %d pending deliveries", dispatcher.pending())
    server.should_exit = True
    try:
        async with asyncio.timeout(settings.shutdown_timeout_s):
            await asyncio.wait([api])
            await dispatcher.drain()
    except TimeoutError:
        log.warning("shutdown: %d deliveries still pending, cancelling", dispatcher.pending())
    if heartbeat is not None and bus is not None:
        await heartbeat.stop(bus)  # graceful: say `offline` (the last will covers crashes)
    raise _Stop
