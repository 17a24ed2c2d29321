"""`watchpost edge`: config errors, the fall-trace command, and a real process on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from protocol.codec import decode
from protocol.messages import Status
from simulators.services import Mosquitto
from tests.edge.conftest import DEVICE, Collector, until
from watchpost_cli import app

runner = CliRunner()


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _device(site: str, url: str, outbox: Path, **extra: object) -> dict[str, object]:
    return {
        "device": DEVICE,
        "site": site,
        "grid": "g1",
        "building": "b1",
        "broker": {"url": url, **extra},
        "outbox": {"path": str(outbox)},
    }


def test_bad_config_names_the_field_and_exits_2(tmp_path: Path) -> None:
    raw = _device("s1", "mqtt://127.0.0.1:1", tmp_path / "o.db")
    raw["timing"] = {"heartbeat_s": 0}
    result = runner.invoke(app, ["edge", "--config", str(_write(tmp_path / "d.yaml", raw))])
    assert result.exit_code == 2
    assert "timing.heartbeat_s" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_missing_password_file_is_a_config_error(tmp_path: Path) -> None:
    raw = _device("s1", "mqtt://127.0.0.1:1", tmp_path / "o.db", password_file="/nonexistent/pw")
    result = runner.invoke(app, ["edge", "--config", str(_write(tmp_path / "d.yaml", raw))])
    assert result.exit_code == 2
    assert "broker.password_file" in result.stderr


def test_missing_password_env_is_a_config_error(tmp_path: Path) -> None:
    raw = _device("s1", "mqtt://127.0.0.1:1", tmp_path / "o.db", password_env="WP_NO_SUCH_VAR")
    result = runner.invoke(app, ["edge", "--config", str(_write(tmp_path / "d.yaml", raw))])
    assert result.exit_code == 2
    assert "WP_NO_SUCH_VAR" in result.stderr


def _trace(path: Path) -> Path:
    rate, rows, t = 50, [], 0.0
    phases = [((0, 0, 1), 25), ((0, 0, 0.2), 15), ((3, 0.5, 2), 2), ((1, 0, 0.05), 200)]
    for (ax, ay, az), count in phases:
        for _ in range(count):
            rows.append(f"{t:.3f},{ax},{ay},{az}")
            t += 1 / rate
    path.write_text("t,ax,ay,az\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_detect_falls_prints_one_json_line_per_fall(tmp_path: Path) -> None:
    result = runner.invoke(app, ["edge", "detect-falls", str(_trace(tmp_path / "fall.csv"))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert '"t": ' in lines[0] and '"peak_g": ' in lines[0]


def test_detect_falls_reads_thresholds_from_a_device_yaml(tmp_path: Path) -> None:
    raw = _device("s1", "mqtt://127.0.0.1:1", tmp_path / "o.db")
    raw["inputs"] = {"accelerometer": {"fall": {"impact_g": 5.0}}}
    config = _write(tmp_path / "d.yaml", raw)
    trace = _trace(tmp_path / "fall.csv")
    result = runner.invoke(app, ["edge", "detect-falls", str(trace), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""  # a 3.6 g impact is below this device's 5 g


@pytest.mark.integration
async def test_agent_process_goes_offline_on_sigterm(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    raw = _device(site_id, mosquitto.url, tmp_path / "o.db", password_env="WP_TEST_PW")
    config = _write(tmp_path / "d.yaml", raw)
    env = {**os.environ, "WP_TEST_PW": "unused-by-an-anonymous-broker"}
    cli = [sys.executable, "-c", "import watchpost_cli; watchpost_cli.main()"]
    proc = await asyncio.create_subprocess_exec(
        *cli, "edge", "--config", str(config), env=env, stdout=subprocess.DEVNULL
    )
    try:
        await until(lambda: len(collector.on("status")) >= 1, within=20, what="online status")
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    await until(lambda: len(collector.on("status")) >= 2, what="offline status")
    states = [decode("status", p) for p in collector.payloads("status")]
    assert [s.state for s in states if isinstance(s, Status)] == ["online", "offline"]
