"""`watchpost hub`: run the hub process (settings from flags, a YAML file or WATCHPOST_*)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from hub.import_child import ImportChild, is_large, looks_changed
from protocol.config_file import describe_errors
from protocol.errors import ConfigError

hub_app = typer.Typer(
    help="Run the hub: ingest, alarm engine, dispatch, HTTP API. / 运行中心服务",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@hub_app.callback()
def hub(
    config: Annotated[Path | None, typer.Option(help="hub.yaml with the same settings")] = None,
    broker: Annotated[
        str | None, typer.Option(help="mqtt://host:port, or mqtts://host:port (TLS)")
    ] = None,
    broker_socket: Annotated[
        Path | None,
        typer.Option(help="Mosquitto's Unix socket on this machine, for the telemetry lane only"),
    ] = None,
    influx: Annotated[str | None, typer.Option(help="InfluxDB URL http://host:8086")] = None,
    store: Annotated[str | None, typer.Option(help="SQLAlchemy URL, e.g. sqlite:///hub.db")] = None,
    http: Annotated[str | None, typer.Option(help="HOST:PORT of the HTTP API")] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Site folder, e.g. firmware-config/sites/sunflower")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Alarm policy YAML")] = None,
    name: Annotated[str | None, typer.Option(help="Hub name (part of MQTT client ids)")] = None,
    share_group: Annotated[
        str | None,
        typer.Option(help="Several hubs: the shared-subscription group they split traffic in"),
    ] = None,
) -> None:
    """Run the hub until SIGTERM or Ctrl-C."""
    from hub.settings import HubSettings, build_settings

    try:
        settings = build_settings(
            config,
            broker=broker,
            broker_socket=broker_socket,
            influx=influx,
            store=store,
            http=http,
            registry=registry,
            policy=policy,
            name=name,
            share_group=share_group,
        )
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        lines = "\n".join(f"  - {p}" for p in describe_errors(HubSettings, exc))
        typer.echo(f"invalid hub settings (flags or WATCHPOST_* variables):\n{lines}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A registry import process parses the registry from now on; the hub asks it for the
    # import if the registry changed, else stops it (hub.registry_start, hub.import_child).
    early = is_large(settings.registry) and looks_changed(settings)
    child = ImportChild.start(settings.registry) if early else None
    try:
        # The store migrated and the import asked for before the hub's own modules load
        # (seconds), which they do once the registry is parsed, while it is written.
        from hub.registry_start import Preparation

        prepared = Preparation.begin(settings, child)
        prepared.parsed()
        from hub.app import run

        asyncio.run(run(settings, prepared=prepared))
    except ConfigError as exc:  # the registry: the file, the field, the fix
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    finally:
        if child is not None:
            child.stop()


def register(app: typer.Typer) -> None:
    """Add the `hub` command group to the `watchpost` CLI."""
    app.add_typer(hub_app, name="hub")


def main() -> None:
    """Run `watchpost hub` on its own (python -m hub.cli)."""
    hub_app()


if __name__ == "__main__":
    main()
