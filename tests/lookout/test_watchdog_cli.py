"""`watchpost watchdog` refuses bad settings before it starts watching."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from watchpost_cli import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["watchdog", "--site", "s1", *args])
    return result.exit_code, result.output


def test_no_channel_no_watchdog() -> None:
    code, out = run()
    assert code == 2 and "notify" in out


def test_an_url_apprise_cannot_send_to_is_refused(tmp_path: Path) -> None:
    urls = tmp_path / "notify.urls"
    urls.write_text("# duty officer\nnot-a-scheme://x\n", encoding="utf-8")
    code, out = run("--notify-file", str(urls))
    assert code == 2 and "not an Apprise URL" in out


def test_an_unreadable_password_file_is_refused(tmp_path: Path) -> None:
    code, out = run(
        "--notify", "json://127.0.0.1:9/duty", "--broker-password-file", str(tmp_path / "none")
    )
    assert code == 2 and "No such file" in out


def test_hub_names_are_ids() -> None:
    code, out = run("--notify", "json://127.0.0.1:9/duty", "--hub", "Hub One")
    assert code == 2 and "hubs" in out
