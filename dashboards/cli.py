"""`watchpost dashboards build|push|render`: registered on the `watchpost` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dashboards.i18n import DEFAULT_LANG, LANGS

LangOption = Annotated[
    str, typer.Option("--lang", help=f"Language of titles and units: {', '.join(LANGS)}")
]


def _check(lang: str) -> str:
    if lang not in LANGS:
        raise typer.BadParameter(f"{lang!r}: choose one of {', '.join(LANGS)}", param_hint="--lang")
    return lang


def build(
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", help="Only this language (repeatable); default: every one"),
    ] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 naming every stale file")] = False,
) -> None:
    """Write the dashboards' JSON and alert-rule files (dashboards/watchpost/<lang>/)."""
    from dashboards import build as builder

    langs = tuple(_check(x) for x in lang) if lang else LANGS
    if check:
        old = builder.stale(langs)
        for path in old:
            typer.echo(f"out of date: {path} (run `watchpost dashboards build`)", err=True)
        raise typer.Exit(1 if old else 0)
    changed = builder.write(langs)
    for path in changed:
        typer.echo(f"wrote {path}")
    if not changed:
        typer.echo("all files up to date")


def push(
    url: Annotated[str, typer.Option(help="Grafana's base URL, e.g. http://127.0.0.1:3000")],
    token: Annotated[
        str,
        typer.Option(
            envvar="WATCHPOST_GRAFANA_TOKEN",
            help="Service-account token (or WATCHPOST_GRAFANA_TOKEN)",
        ),
    ],
    lang: LangOption = DEFAULT_LANG,
    folder: Annotated[str, typer.Option(help="Folder uid")] = "watchpost",
    rules: Annotated[bool, typer.Option(help="Also push the alert rules")] = True,
) -> None:
    """Upload the dashboards (and alert rules) into a folder; print what changed."""
    from dashboards.push import PushError
    from dashboards.push import push as do_push

    try:
        changes = do_push(url, token, _check(lang), folder, rules=rules)
    except PushError as exc:
        typer.echo(f"push failed / 推送失败: {exc}", err=True)
        raise typer.Exit(1) from exc
    for change in changes:
        typer.echo(str(change))
    changed = sum(c.action != "unchanged" for c in changes)
    typer.echo(f"{changed} changed, {len(changes) - changed} unchanged")


def render(
    lang: LangOption = DEFAULT_LANG,
    out: Annotated[Path, typer.Option(help="Folder for dashboards-<name>.png")] = Path("docs/img"),
    influx: Annotated[
        str | None,
        typer.Option(help="Read this InfluxDB 1.x instead of a throwaway one with the scenario"),
    ] = None,
    database: Annotated[str, typer.Option(help="Database (with --influx)")] = "watchpost",
    site: Annotated[str, typer.Option(help="Site to show")] = "sunny-gardens",
) -> None:
    """Draw a PNG per dashboard from its JSON and the data its queries return."""
    from dashboards.render import render_all

    for path in render_all(_check(lang), out, influx=influx, database=database, site=site):
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the `dashboards` command group to the `watchpost` command."""
    group = typer.Typer(
        help="Grafana dashboards and alert rules. / Grafana 看板与告警规则", no_args_is_help=True
    )
    group.command("build")(build)
    group.command("push")(push)
    group.command("render")(render)
    app.add_typer(group, name="dashboards")
