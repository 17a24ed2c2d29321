"""Generated files: hash format, secret files, reuse of existing secrets, nothing printed."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from provision.password_file import hash_password, read_hashes, verify
from provision.secret_store import SecretStore
from watchpost_cli import app


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "alice", "s3cret"], check=True)
    theirs = read_hashes(path)["alice"]
    assert verify("s3cret", theirs)
    assert not verify("s3cret!", theirs)
    assert verify("x", hash_password("x"))


def test_cli_writes_acl_and_secrets_without_printing_them(site_dir: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "out", tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "hub.pw").write_text("kept-hub-password\n")
    result = CliRunner().invoke(
        app, ["config", "acl", str(site_dir), "--out", str(out), "--secrets", str(secrets)]
    )
    assert result.exit_code == 0, result.output
    store = SecretStore(secrets)
    hashes = read_hashes(out / "passwd")
    assert verify("kept-hub-password", hashes["hub-events"])
    assert verify("kept-hub-password", hashes["hub-out"])
    assert verify("kept-hub-password", hashes["hub-telemetry"])
    devices = {p.stem for p in (site_dir / "devices").glob("*.yaml")}
    assert set(hashes) == {"hub-events", "hub-out", "hub-telemetry", "watchdog", *devices} | {
        "w-zhang-wei",
        "w-li-na",
        "w-wang-fang",
        "w-fire-1",
        "w-duty-1",
        "w-sup-1",
        "w-maint-1",
    }
    for user in hashes:
        user = "hub" if user.startswith("hub-") else user
        password = store.get_or_create(user)
        assert password not in result.output
        assert stat.S_IMODE((secrets / f"{user}.pw").stat().st_mode) == 0o600
    acl = (out / "acl").read_text()
    assert "user home-b1-101\ntopic write watchpost/v1/" in acl
    # A second run keeps every hash (no churn) since the passwords did not change.
    again = CliRunner().invoke(
        app, ["config", "acl", str(site_dir), "--out", str(out), "--secrets", str(secrets)]
    )
    assert again.exit_code == 0
    assert read_hashes(out / "passwd") == hashes
