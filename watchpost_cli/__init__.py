"""The `watchpost` command: thin, dispatching to each package's own Typer app.

A package whose extra is not installed (e.g. `hub` on a Pi) is replaced by a command that says
which extra to install, so `watchpost edge` works on a Pi without FastAPI or InfluxDB libraries.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from protocol.errors import ConfigError

_root = typer.Typer(
    name="watchpost",
    help="Watchpost: emergency monitoring for residential communities. / 社区应急监护系统",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
protocol_app = typer.Typer(help="The MQTT wire contract.", no_args_is_help=True)
config_app = typer.Typer(help="Device and site configuration.", no_args_is_help=True)
_root.add_typer(protocol_app, name="protocol")
_root.add_typer(config_app, name="config")


@protocol_app.command("schema")
def protocol_schema(
    out: Annotated[Path, typer.Option(help="Folder to write NAME.schema.json files into")] = Path(
        "docs/schema"
    ),
) -> None:
    """Write JSON Schema for every payload and config file."""
    from protocol.schema import write_schemas

    for path in write_schemas(out):
        typer.echo(str(path))


@config_app.command("validate")
def config_validate(
    paths: Annotated[list[Path], typer.Argument(help="Device YAML files or site folders")],
) -> None:
    """Validate device YAML files and site folders; print every problem with its field."""
    from protocol.device_config import load_device_config
    from protocol.site_config import load_site

    failed = 0
    for path in paths:
        try:
            if path.is_dir():
                reg = load_site(path)
                typer.echo(f"ok   {path} (site {reg.site.site}, {len(reg.devices)} devices)")
            else:
                cfg = load_device_config(path)
                typer.echo(f"ok   {path} (device {cfg.device})")
        except ConfigError as exc:
            failed += 1
            typer.echo(f"FAIL {exc}", err=True)
    if failed:
        raise typer.Exit(1)


def _missing_extra(name: str, extra: str, missing: str) -> Callable[[], None]:
    """Return a command that explains which extra to install for `name`."""

    def stub() -> None:
        typer.echo(
            f"'watchpost {name}' needs the '{extra}' extra ({missing} is missing): "
            f"pip install 'watchpost[{extra}]'",
            err=True,
        )
        raise typer.Exit(2)

    return stub


def _mount(
    module: str, parent: typer.Typer, names: tuple[str, ...], extra: str, requires: tuple[str, ...]
) -> None:
    """Let a package register its commands on `parent`, or stubs naming the missing extra.

    `requires` lists the extra's third-party modules: they are checked up front because a
    package may import them lazily, only when its command runs.
    """
    absent = [m for m in requires if importlib.util.find_spec(m) is None]
    try:
        register = None if absent else importlib.import_module(module).register
    except ImportError as exc:
        absent = [exc.name or str(exc)]
        register = None
    if register is None:
        for name in names:
            parent.command(
                name,
                help=f"(needs the {extra} extra: pip install watchpost[{extra}])",
                rich_help_panel="Not installed",
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            )(_missing_extra(name, extra, absent[0]))
        return
    register(parent)


# Each package's `cli.register(app)` adds the commands named here.
_EDGE = ("aiomqtt", "paho", "gpiozero")
_HUB = ("aiomqtt", "fastapi", "uvicorn", "sqlalchemy", "alembic", "httpx", "influxdb_client")
_PACKAGES: tuple[tuple[str, typer.Typer, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("edge.cli", _root, ("edge",), "edge", _EDGE),
    ("hub.cli", _root, ("hub",), "hub", _HUB),
    ("hub.accounts.cli", _root, ("users",), "hub", _HUB),
    ("simulators.cli", _root, ("simulate",), "sim", _EDGE + _HUB),
    ("simulators.demo_cli", _root, ("demo", "bench"), "sim", _EDGE + _HUB),
    ("lookout.cli", _root, ("watchdog",), "watchdog", ("aiomqtt", "apprise")),
    ("provision.cli", config_app, ("acl", "broker", "device"), "edge", ()),
    # build needs nothing more; push imports grafana_client and render matplotlib when they run.
    ("dashboards.cli", _root, ("dashboards",), "grafana", ()),
)
_mounted: set[str] = set()


def _mount_for(argv: list[str]) -> None:
    """Mount the package that owns the command `argv` names (`watchpost hub ...` loads no
    edge, simulator or provisioning module: ~0.4 s of CPU less at a hub's start here), or every
    package when it names none of them (help, a typo, `config`'s own commands)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    wanted = [p for p in _PACKAGES if p[1] is _root and first in p[2]] or _PACKAGES
    for module, parent, names, extra, requires in wanted:
        if module not in _mounted:
            _mounted.add(module)
            _mount(module, parent, names, extra, requires)


def __getattr__(name: str) -> typer.Typer:
    """`watchpost_cli.app` for a caller (tests, CliRunner): every package's commands."""
    if name == "app":
        _mount_for([])
        return _root
    raise AttributeError(name)


def main() -> None:
    """Run the CLI."""
    _mount_for(sys.argv[1:])
    sys.exit(_root())


if __name__ == "__main__":
    main()
