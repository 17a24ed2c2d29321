"""`watchpost users …`: the first admin, a worker account, a service token, disabling."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hub.accounts import Accounts
from hub.store import Store
from protocol.site_config import load_site
from tests.hub.receiver import write_site
from watchpost_cli import app


def test_users_add_list_token_disable(tmp_path: Path, site_id: str) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    run = CliRunner().invoke
    env = {"ADMIN_PW": "first-admin-pw-1", "WATCHPOST_STORE": url}
    first = run(app, ["users", "add", "admin", "--role", "admin", "--password-env", "ADMIN_PW"],
                env=env)  # fmt: skip
    assert first.exit_code == 0, first.output
    worker = ["users", "add", "zhang.wei", "--role", "grid_worker", "--site", site_id,
              "--worker", "w-zhang-wei", "--password-env", "ADMIN_PW"]  # fmt: skip
    assert run(app, worker, env=env).exit_code == 0
    wrong = ["users", "add", "ghost", "--role", "grid_worker", "--site", site_id,
             "--worker", "w-nobody", "--password-env", "ADMIN_PW"]  # fmt: skip
    refused = run(app, wrong, env=env)
    assert refused.exit_code == 2 and "worker" in refused.output
    robot = ["users", "add", "board-kiosk", "--role", "viewer", "--site", site_id, "--service"]
    assert run(app, robot, env=env).exit_code == 0
    token = run(app, ["users", "token", "board-kiosk"], env=env).output.strip()
    listed = run(app, ["users", "list"], env=env).output
    assert "zhang.wei\tgrid_worker" in listed and "admin\tadmin" in listed
    accounts = Accounts(store)
    who = accounts.resolve(token)
    assert who is not None and (who.username, who.role) == ("board-kiosk", "viewer")
    assert accounts.authenticate("admin", "first-admin-pw-1")
    assert not accounts.authenticate("board-kiosk", "")  # a service account has no password
    assert run(app, ["users", "disable", "board-kiosk"], env=env).exit_code == 0
    assert accounts.resolve(token) is None
    store.close()
