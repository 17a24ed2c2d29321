"""`watchpost config acl|broker|device`: broker credentials, a ready broker, new devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protocol.errors import ConfigError
from protocol.site_config import load_site
from provision.acl import write_acl_files
from provision.broker import Listen, write_broker_config
from provision.certificates import Certificates
from provision.device_scaffold import DeviceRequest, scaffold_device
from provision.secret_store import SecretExistsError, SecretStore

HUB_USER_HELP = "MQTT user of the hub (default hub); repeat it for several hubs"
SECRETS_HELP = "Folder of <user>.pw password files (0600); default SITE_DIR/secrets"


def acl(
    site_dir: Annotated[Path, typer.Argument(help="Site folder (site.yaml + devices/)")],
    out: Annotated[Path, typer.Option(help="Folder to write passwd and acl into")],
    secrets: Annotated[Path | None, typer.Option(help=SECRETS_HELP)] = None,
    hub_user: Annotated[list[str] | None, typer.Option(help=HUB_USER_HELP)] = None,
) -> None:
    """Generate Mosquitto passwd and acl files from a site registry."""
    store = SecretStore(secrets or site_dir / "secrets")
    try:
        files = write_acl_files(load_site(site_dir), out, store, hub_user or ["hub"])
    except (ConfigError, ValueError) as exc:
        typer.echo(f"FAIL {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {files.passwd} ({files.users} users) and {files.acl}")
    typer.echo(f"secrets in {store.folder}: {len(files.new_secrets)} generated, none printed")


def _listen(value: str, option: str) -> Listen | None:
    if value.lower() == "off":
        return None
    try:
        return Listen.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def broker(
    site_dir: Annotated[Path, typer.Argument(help="Site folder (site.yaml + devices/)")],
    out: Annotated[Path, typer.Option(help="Folder for mosquitto.conf, passwd, acl, certs, data")],
    secrets: Annotated[Path | None, typer.Option(help=SECRETS_HELP)] = None,
    listen: Annotated[
        str, typer.Option(help="Plain MQTT HOST:PORT (keep it on loopback), or 'off'")
    ] = "127.0.0.1:1883",
    tls_listen: Annotated[str, typer.Option(help="MQTT over TLS HOST:PORT, or 'off'")] = (
        "0.0.0.0:8883"
    ),
    tls_host: Annotated[
        list[str] | None, typer.Option(help="Extra name/IP for the pilot certificate (repeat)")
    ] = None,
    cafile: Annotated[
        Path | None, typer.Option(help="Your CA certificate (with --certfile)")
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="Your server certificate (PEM)")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="Your server key (PEM)")] = None,
    hub_user: Annotated[list[str] | None, typer.Option(help=HUB_USER_HELP)] = None,
    run_as: Annotated[
        str | None, typer.Option(help="System user Mosquitto runs as (default: you)")
    ] = None,
    unix_socket: Annotated[
        str,
        typer.Option(
            help="Also listen on this Unix socket, for a hub on this machine (its "
            "--broker-socket), e.g. /var/lib/watchpost/broker/run/mqtt.sock; or 'off'"
        ),
    ] = "off",
) -> None:
    """Write a ready mosquitto.conf (auth, ACL, TLS, persistence, queue limits) for a site."""
    given = None
    if certfile or keyfile or cafile:
        if not (certfile and keyfile and cafile):
            typer.echo("FAIL --cafile, --certfile and --keyfile go together", err=True)
            raise typer.Exit(2)
        given = Certificates(
            cafile.resolve(), Path("/dev/null"), certfile.resolve(), keyfile.resolve()
        )
    store = SecretStore((secrets or site_dir / "secrets").resolve())
    hubs = hub_user or ["hub"]
    try:
        files = write_broker_config(
            site_dir,
            out,
            store,
            plain=_listen(listen, "--listen"),
            tls=_listen(tls_listen, "--tls-listen"),
            given=given,
            hosts=tuple(tls_host or ()),
            hub_user=hubs,
            run_as=run_as,
            unix_socket=None if unix_socket == "off" else Path(unix_socket),
        )
    except (ConfigError, ValueError, RuntimeError) as exc:
        typer.echo(f"FAIL {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {files.conf} ({files.acl.users} users); run: mosquitto -c {files.conf}")
    if files.pilot_ca:
        ca = files.certs.ca_cert if files.certs else ""
        typer.echo(f"pilot CA {ca}: give it to every client / 试点根证书：请分发给每个客户端")
    typer.echo(f"secrets in {store.folder}: {len(files.acl.new_secrets)} generated, none printed")
    for hub in hubs:
        typer.echo(f"hub: broker_username {hub}, broker_password_file {store.path(hub)}")
        typer.echo(f"中心服务：broker_username {hub}，密码文件 {store.path(hub)}")


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
    """Add the `acl`, `broker` and `device` commands to the `watchpost config` app."""
    app.command("acl")(acl)
    app.command("broker")(broker)
    app.command("device")(device)
