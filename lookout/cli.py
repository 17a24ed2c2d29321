"""`watchpost watchdog`: page the duty officer when the hub or the broker goes silent."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

ENV = "WATCHPOST_WATCHDOG_"


def watchdog(
    site: Annotated[str, typer.Option(envvar=f"{ENV}SITE", help="Site id")],
    notify: Annotated[
        list[str] | None,
        typer.Option(envvar=f"{ENV}NOTIFY", help="Apprise URL of the duty officer (repeat)"),
    ] = None,
    notify_file: Annotated[
        Path | None,
        typer.Option(
            envvar=f"{ENV}NOTIFY_FILE",
            help="File of Apprise URLs, one a line (keeps tokens out of the process list)",
        ),
    ] = None,
    broker: Annotated[
        str, typer.Option(envvar=f"{ENV}BROKER", help="mqtt://host:port or mqtts://host:port")
    ] = "mqtt://127.0.0.1:1883",
    broker_ca_file: Annotated[
        Path | None, typer.Option(envvar=f"{ENV}BROKER_CA_FILE", help="CA of the broker")
    ] = None,
    broker_username: Annotated[
        str | None, typer.Option(envvar=f"{ENV}BROKER_USERNAME", help="MQTT user (watchdog)")
    ] = None,
    broker_password_file: Annotated[
        Path | None,
        typer.Option(envvar=f"{ENV}BROKER_PASSWORD_FILE", help="File holding the MQTT password"),
    ] = None,
    hub: Annotated[list[str] | None, typer.Option(help="Hub name to expect (repeat)")] = None,
    grace_s: Annotated[float, typer.Option(help="Hub silent after this many seconds")] = 15.0,
    broker_grace_s: Annotated[float, typer.Option(help="Broker silent after this many")] = 10.0,
) -> None:
    """Watch the hub's heartbeat and the broker; page through Apprise. / 看门狗：监视中心服务"""
    from lookout.app import WatchdogSettings, run

    urls = list(notify or [])
    try:
        if notify_file is not None:
            lines = notify_file.read_text(encoding="utf-8").splitlines()
            urls += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        settings = WatchdogSettings(
            site=site,
            notify=urls,
            broker=broker,
            broker_ca_file=broker_ca_file,
            broker_username=broker_username,
            broker_password_file=broker_password_file,
            hubs=hub or ["hub"],
            grace_s=grace_s,
            broker_grace_s=broker_grace_s,
        )
        from lookout.pager import Pager

        Pager(settings.notify)
        settings.endpoint()  # an unreadable password file fails here, not inside the loop
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"看门狗设置无效 / invalid watchdog settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run(settings))


def register(app: typer.Typer) -> None:
    """Add the `watchdog` command to the `watchpost` CLI."""
    app.command("watchdog")(watchdog)
