"""The Dockerfile's shape (no Docker engine runs here): checked with a real parser."""

from __future__ import annotations

import json
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]


def _parsed() -> DockerfileParser:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser


def _instructions(kind: str) -> list[str]:
    return [i["value"] for i in _parsed().structure if i["instruction"] == kind]


def _final_stage() -> list[dict]:
    structure = _parsed().structure
    last_from = max(i for i, item in enumerate(structure) if item["instruction"] == "FROM")
    return structure[last_from:]


def test_slim_python_base_for_the_image_that_runs():
    final = _final_stage()
    base = final[0]["value"]
    assert base.startswith("python:3.11-slim")


def test_runs_as_a_non_root_user():
    users = [i["value"] for i in _final_stage() if i["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_database_and_templates_live_in_a_volume():
    volumes = " ".join(_instructions("VOLUME"))
    assert "/data" in volumes
    env = _parsed().envs
    assert env["MAILWATCH_DATABASE_URL"].startswith("sqlite:////data/")
    assert env["MAILWATCH_WEB_ALLOW_REMOTE"] == "true"  # 0.0.0.0 inside the container
    runs = " ".join(_instructions("RUN"))
    assert "/data/templates" in runs  # the place for template overrides, owned by the user


def test_health_check_asks_the_service():
    (health,) = _instructions("HEALTHCHECK")
    assert "/healthz" in health


def test_the_command_is_mailwatch_run_after_the_schema_upgrade():
    (cmd,) = _instructions("CMD")
    command = " ".join(json.loads(cmd))
    assert "mailwatch init" in command and "exec mailwatch run" in command


def test_everything_copied_exists_in_the_repository():
    for value in _instructions("COPY"):
        if value.startswith("--from"):
            continue
        *sources, _target = value.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    assert "8025" in " ".join(_instructions("EXPOSE"))
