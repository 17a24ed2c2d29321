"""`watchpost users …`: create the first admin, add people and service accounts, tokens."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hub.accounts import Accounts
    from hub.store import Store

users_app = typer.Typer(
    help="User accounts of the hub's pages and API. / 用户账号",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
StoreOpt = Annotated[
    str,
    typer.Option(envvar="WATCHPOST_STORE", help="SQLAlchemy URL of the hub's store"),
]


def _accounts(store_url: str) -> tuple[Store, Accounts]:
    from hub.accounts import Accounts
    from hub.store import Store

    store = Store(store_url)
    store.migrate()
    return store, Accounts(store)


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            typer.echo(f"environment variable {password_env} is empty / 环境变量为空", err=True)
            raise typer.Exit(2)
        return value
    first = getpass.getpass("password / 密码: ")
    if first != getpass.getpass("again / 再输一次: "):
        typer.echo("passwords differ / 两次密码不一致", err=True)
        raise typer.Exit(2)
    return first


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name, e.g. zhang.wei")],
    role: Annotated[str, typer.Option(help="admin, duty_officer, supervisor, grid_worker, …")],
    store: StoreOpt = "sqlite:///watchpost.db",
    site: Annotated[str | None, typer.Option(help="Site id (every role but admin)")] = None,
    worker: Annotated[str | None, typer.Option(help="Worker id in the site registry")] = None,
    lang: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable")
    ] = None,
    service: Annotated[
        bool, typer.Option(help="A service account: no password; use `users token`")
    ] = False,
) -> None:
    """Add a user (the first one: `--role admin`)."""
    from hub.accounts import AccountError

    db, accounts = _accounts(store)
    try:
        password = None if service else _password(password_env)
        accounts.add_user(username, password, role, site=site, worker=worker, lang=lang)
    except AccountError as exc:
        typer.echo(f"refused / 拒绝: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.close()
    typer.echo(f"added {username} ({role}) / 已添加")


@users_app.command("token")
def token(username: str, store: StoreOpt = "sqlite:///watchpost.db") -> None:
    """Print a new API token (no expiry; revoke with `users disable`) for a user."""
    db, accounts = _accounts(store)
    try:
        if username not in {u.username for u in accounts.users()}:
            typer.echo(f"no user {username!r} / 无此用户", err=True)
            raise typer.Exit(2)
        value, _ = accounts.issue(username, kind="api")
    finally:
        db.close()
    typer.echo(value)


@users_app.command("list")
def list_users(store: StoreOpt = "sqlite:///watchpost.db") -> None:
    """List users: name, role, site, worker, language, active."""
    db, accounts = _accounts(store)
    try:
        for u in accounts.users():
            state = "active" if u.active else "disabled"
            cols = [u.username, u.role, u.site or "-", u.worker or "-", u.lang, state]
            typer.echo("\t".join(cols))
    finally:
        db.close()


@users_app.command("disable")
def disable(username: str, store: StoreOpt = "sqlite:///watchpost.db") -> None:
    """Disable a user and revoke every token and session of theirs."""
    from hub.accounts import AccountError

    db, accounts = _accounts(store)
    try:
        accounts.set_active(username, False)
    except AccountError as exc:
        typer.echo(f"refused / 拒绝: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.close()
    typer.echo(f"disabled {username} / 已停用")


def register(app: typer.Typer) -> None:
    """Add the `users` command group to the `watchpost` CLI."""
    app.add_typer(users_app, name="users")
