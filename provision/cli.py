"""`watchpost config acl` and `watchpost config device`: broker credentials and new devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protocol.errors import ConfigError
from protocol.site_config import load_site
from provision.acl import write_acl_files
from provision.device_scaffold import DeviceRequest, scaffold_device
from provision.secret_store import SecretExistsError, SecretStore

SECRETS_HELP = "Folder of <user>.pw password files (0600); default SITE_DIR/secrets"


def acl(
    site_dir: Annotated[Path, typer.Argument(help="Site folder (site.yaml + devices/)")],
    out: Annotated[Path, typer.Option(help="Folder to write passwd and acl into")],
    secrets: Annotated[Path | None, typer.Option(help=SECRETS_HELP)] = None,
    hub_user: Annotated[str, typer.Option(help="MQTT user name of the hub")] = "hub",
) -> None:
    """Generate Mosquitto passwd and acl files from a site registry."""
    store = SecretStore(secrets or site_dir / "secrets")
    try:
        files = write_acl_files(load_site(site_dir), out, store, hub_user)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"FAIL {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {files.passwd} ({files.users} users) and {files.acl}")
    typer.echo(f"secrets in {store.folder}: {len(files.new_secrets)} generated, none printed")


def device(
    new: Annotated[str, typer.Argument(help="New device id, e.g. home-b2-305")],
    site_dir: Annotated[Path, typer.Option(help="Site folder (site.yaml + devices/)")],
    building: Annotated[str, typer.Option(help="Building id from site.yaml")],
    household: Annotated[
        str | None, typer.Option(help="Household id; omit for common areas")
    ] = None,
    resident: Annotated[
        str | None, typer.Option(help="Resident id; default: the household's only one")
    ] = None,
    location: Annotated[str, typer.Option(help="Where it is, e.g. '2号楼305 卧室'")] = "",
    broker_url: Annotated[
        str, typer.Option(help="Hub broker, mqtt(s)://host:port")
    ] = "mqtt://127.0.0.1:1883",
    secrets: Annotated[Path | None, typer.Option(help=SECRETS_HELP)] = None,
    call_pin: Annotated[int | None, typer.Option(help="BCM pin of the SOS button")] = 17,
    cancel_pin: Annotated[int | None, typer.Option(help="BCM pin of the cancel button")] = 27,
    led_pin: Annotated[int | None, typer.Option(help="BCM pin of the status LED")] = 5,
    buzzer_pin: Annotated[int | None, typer.Option(help="BCM pin of the buzzer")] = 6,
) -> None:
    """Scaffold a device YAML with a fresh MQTT credential."""
    store = SecretStore(secrets or site_dir / "secrets")
    pins = {"call": call_pin, "cancel": cancel_pin, "led": led_pin, "buzzer": buzzer_pin}
    req = DeviceRequest(new, building, household, resident, location, broker_url, pins)
    try:
        path = scaffold_device(site_dir, req, store)
    except (ConfigError, SecretExistsError) as exc:
        typer.echo(f"FAIL {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {path}; credential in {store.path(new)} (not printed)")
    typer.echo("next: watchpost config acl, then install-edge.sh on the Pi")


def register(app: typer.Typer) -> None:
    """Add the `acl` and `device` commands to the `watchpost config` app."""
    app.command("acl")(acl)
    app.command("device")(device)
