"""A private copy of the example site, renamed to the test's unique site id."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware-config" / "sites" / "sunflower"


@pytest.fixture
def site_dir(tmp_path: Path, site_id: str) -> Path:
    """Return a copy of firmware-config/sites/sunflower whose site id is `site_id`."""
    target = tmp_path / "site"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("secrets"))
    for path in [target / "site.yaml", *(target / "devices").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("site: sunflower", f"site: {site_id}"), encoding="utf-8")
    return target
