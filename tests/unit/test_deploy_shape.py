"""The shipped deployment files (compose.yaml, deploy/mailwatch@.service) have the shape the
scale-out relies on, and docs/deploy.md shows them verbatim."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml

from mailwatch.config import ALL_KEYS
from mailwatch.service.main import SHUTDOWN_BUDGET

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_several_workers_on_one_postgres():
    compose = _compose()
    postgres, worker = compose["services"]["postgres"], compose["services"]["mailwatch"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    env = worker["environment"]
    assert re.fullmatch(
        r"postgresql\+psycopg://mailwatch:\$\{\w+\}@postgres/mailwatch",
        env["MAILWATCH_DATABASE_URL"],
    )
    # WEB_SECRET is required with PostgreSQL: compose refuses to start without it.
    assert env["MAILWATCH_WEB_SECRET"].startswith("${MAILWATCH_WEB_SECRET:?")
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    replicas = worker["deploy"]["replicas"]
    assert replicas >= 2
    # A host port for each replica (and room to scale out).
    (ports,) = worker["ports"]
    low, high = re.fullmatch(r"127\.0\.0\.1:(\d+)-(\d+):8025", ports).groups()
    assert int(high) - int(low) + 1 >= replicas
    # docker stop waits longer than mailwatch needs to stop cleanly.
    assert worker["stop_signal"] == "SIGTERM"
    assert int(worker["stop_grace_period"].rstrip("s")) > SHUTDOWN_BUDGET + 5
    for key in env:
        assert key.removeprefix("MAILWATCH_") in ALL_KEYS, key


def test_systemd_unit_runs_a_worker_that_stops_cleanly():
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # keys are case-sensitive
    unit.read_string((ROOT / "deploy" / "mailwatch@.service").read_text())
    service = unit["Service"]
    assert service["ExecStart"].endswith("mailwatch run")
    assert service["ExecStartPre"].endswith("mailwatch init")
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > SHUTDOWN_BUDGET + 5
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].startswith("/etc/mailwatch/")
    # Each instance its own port: mailwatch@25 listens on 8025.
    assert service["Environment"] == "MAILWATCH_WEB_BIND=127.0.0.1:80%i"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_deploy_guide_shows_the_files_as_shipped():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for path in ("compose.yaml", "deploy/mailwatch@.service"):
        assert (ROOT / path).read_text().strip() in guide, path
