"""The wheel with the `edge` extra installs on a Pi: no FastAPI, no InfluxDB client, a working CLI.

One wheel is built from this checkout and installed once into a fresh venv; every test then runs
that venv's interpreter or `watchpost` script from a neutral directory, so nothing is imported
from the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SITE = ROOT / "firmware-config" / "sites" / "sunflower"


@dataclass(frozen=True)
class EdgeInstall:
    """A venv holding only `watchpost[edge]`, and a directory outside the source tree."""

    bin: Path
    cwd: Path

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a program from the venv's bin directory and capture its output."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(
            [str(self.bin / program), *args],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _checked(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args[:5])} ... failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )


@pytest.fixture(scope="module")
def edge_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeInstall]:
    """Build the wheel and install it with the `edge` extra into a fresh venv (one install)."""
    base = tmp_path_factory.mktemp("packaging")
    dist = base / "dist"
    # No build isolation: the build backend (hatchling) comes from the dev venv, not the network.
    _checked([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
              "-w", str(dist), str(ROOT)])  # fmt: skip
    wheels = list(dist.glob("watchpost-*.whl"))
    assert len(wheels) == 1, wheels
    target = base / "pi-venv"
    # No pip inside: this venv's pip installs into it (`--python`), which saves seconds.
    venv.create(target, with_pip=False)
    _checked([sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"),
              "install", "-q", f"{wheels[0]}[edge]"])  # fmt: skip
    cwd = base / "elsewhere"
    cwd.mkdir()
    yield EdgeInstall(target / "bin", cwd)


def test_the_installed_packages_come_from_the_wheel(edge_install: EdgeInstall) -> None:
    result = edge_install.run("python", "-c", "import edge, protocol; print(edge.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(edge_install.bin.parent), result.stdout


def test_edge_help_works(edge_install: EdgeInstall) -> None:
    result = edge_install.run("watchpost", "edge", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: watchpost edge" in result.stdout


@pytest.mark.parametrize("module", ["fastapi", "influxdb_client", "uvicorn", "sqlalchemy"])
def test_a_pi_install_carries_no_hub_libraries(edge_install: EdgeInstall, module: str) -> None:
    result = edge_install.run("python", "-c", f"import {module}")
    assert result.returncode == 1
    assert f"No module named '{module}'" in result.stderr


def test_hub_names_the_missing_extra_and_exits_2(edge_install: EdgeInstall) -> None:
    result = edge_install.run("watchpost", "hub")
    assert "Traceback" not in result.stderr, result.stderr
    assert "'hub' extra" in result.stderr
    assert "pip install 'watchpost[hub]'" in result.stderr
    assert result.returncode == 2


def test_config_validate_accepts_the_example_site(edge_install: EdgeInstall) -> None:
    result = edge_install.run("watchpost", "config", "validate", str(EXAMPLE_SITE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"ok   {EXAMPLE_SITE} (site sunflower,")
