"""Several hub processes: one Mosquitto, one PostgreSQL database, one influxd database per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from simulators.community import CommunityOptions, generate_community, write_community
from simulators.hubgroup import HubGroup
from simulators.services import Influxd, Mosquitto, Postgres

SITE = "hubs"
HOMES = 40
ESCALATE_S = 4.0
"""A call nobody acknowledges pages tier 1 (the duty officer) this long after tier 0."""


@pytest.fixture(scope="session")
def community(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write a generated community of HOMES homes in one grid and a fast-escalation policy."""
    root = tmp_path_factory.mktemp("community")
    write_community(generate_community(HOMES, 1, CommunityOptions(site=SITE)), root / "site")
    policy = {
        "escalation": {"call": {"tiers": [["grid"], ["duty_officer"]],
                                "timeouts_s": [ESCALATE_S, 3600.0]}},
    }  # fmt: skip
    (root / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    return root


@pytest.fixture
def hub_group(
    tmp_path: Path,
    mosquitto: Mosquitto,
    pg_server: Postgres,
    influxd: Influxd,
    influx_db: str,
    community: Path,
) -> Iterator[Callable[[int], HubGroup]]:
    """Return a starter of K hubs in one share group on this test's broker and databases."""
    started: list[HubGroup] = []

    def start(size: int) -> HubGroup:
        database = f"h_{uuid.uuid4().hex[:12]}"
        pg_server.create_database(database)
        group = HubGroup(
            tmp_path / "hubs",
            mosquitto.url,
            community / "site",
            pg_server.url_for(database),
            size,
            influx_url=influxd.url,
            influx_db=influx_db,
            policy=community / "policy.yaml",
        )
        started.append(group)
        return group.start()

    yield start
    for group in started:
        group.stop()
