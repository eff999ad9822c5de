"""Options read without pydantic (``cli.output.plain_values``) come out exactly as typer's own
coercion makes them: the same value of the same type, or the same error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._coercion import build_runtime_param
from typer.main import get_command

from mailwatch.cli.output import _PlainValue

probe = typer.Typer()


@probe.command()
def options(
    text: Annotated[str | None, typer.Option("--text")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1)] = None,
    bounded: Annotated[int, typer.Option("--bounded", min=-3, max=40)] = 0,
    clamped: Annotated[int, typer.Option("--clamped", min=1, max=9, clamp=True)] = 1,
    plain: Annotated[int, typer.Option("--plain")] = 0,
    where: Annotated[Path | None, typer.Option("--where")] = None,
    existing: Annotated[Path | None, typer.Option("--existing", exists=True)] = None,
    resolved: Annotated[Path | None, typer.Option("--resolved", resolve_path=True)] = None,
    a_file: Annotated[Path | None, typer.Option("--a-file", dir_okay=False)] = None,
) -> None:
    """Only its parameters are used."""


COMMAND = get_command(probe)
PARAMS = {p.name: p for p in COMMAND.params}


def outcome(coercion: Any, name: str, value: Any) -> tuple[str, Any]:
    param = PARAMS[name]
    ctx = COMMAND.make_context("options", [], resilient_parsing=True)
    try:
        got = coercion.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter as error:  # (click's, re-exported by typer)
        return ("error", error.format_message())
    return (type(got).__name__, got)


def same(name: str, value: Any) -> None:
    typers = build_runtime_param(PARAMS[name].type_descriptor)
    assert outcome(_PlainValue(), name, value) == outcome(typers, name, value)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["text", "count", "bounded", "clamped", "plain"]),
    st.text(max_size=12)
    | st.integers(min_value=-100, max_value=10**20).map(str)
    | st.sampled_from(["0", "00", "007", "+5", " 5", "5 ", "1_000", "٣", "1e3", "-0", ""]),
)
def test_text_and_numbers_as_typer_reads_them(name: str, value: str) -> None:
    same(name, value)


@pytest.mark.parametrize("name", ["text", "count", "where", "existing", "resolved", "a_file"])
def test_missing_values_as_typer_reads_them(name: str) -> None:
    same(name, None)


@pytest.mark.parametrize("name", ["where", "existing", "resolved", "a_file"])
def test_paths_as_typer_reads_them(name: str, tmp_path: Path) -> None:
    (tmp_path / "file.env").write_text("X=1\n")
    (tmp_path / "dir").mkdir()
    for value in (
        str(tmp_path / "file.env"),
        str(tmp_path / "dir"),
        str(tmp_path / "missing.env"),
        str(tmp_path) + "//dir/./",
        "relative.env",
        "-",
        "",
    ):
        same(name, value)


def test_a_command_line_needs_no_pydantic(tmp_path: Path) -> None:
    """`mailwatch threads ...` with its options and --env-file parses without pydantic."""
    env = tmp_path / "x.env"
    env.write_text("MAILWATCH_DATABASE_URL=sqlite:///nowhere/never.db\n")
    code = (
        "import sys\n"
        "from mailwatch.cli import app\n"
        f"sys.argv = ['mailwatch', '--env-file', {str(env)!r}, 'threads', '--state', "
        "'overdue', '--limit', '3', '--json', '--now', '2026-03-02T10:00:00+00:00']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
    assert "error:" in out.stderr  # it got as far as the settings (no such database)
