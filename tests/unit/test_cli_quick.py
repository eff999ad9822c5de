"""The quick path of ``mailwatch threads``, ``digest`` (without ``--send``) and ``promises``
reads their options exactly as the Typer app does.

:func:`mailwatch.cli.quick.quick_call` accepts only plain command lines; for every command
line it accepts, the Typer app must call the command with the same values (and the same
settings file). Anything it declines goes to Typer, which then says what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import mailwatch.cli.digest as digest_command
import mailwatch.cli.promises as promises_command
import mailwatch.cli.threads as threads_command
from mailwatch.cli import app
from mailwatch.cli import context as cli_context
from mailwatch.cli.quick import quick_call

NOW = "2026-11-30T10:00:00+00:00"
TOKENS = [
    "threads",
    "--state",
    "overdue",
    "awaiting_them",
    "--state=all",
    "--state=",
    "--json",
    "--json=1",
    "--now",
    NOW,
    f"--now={NOW}",
    "--limit",
    "5",
    "0",
    "07",
    "-3",
    "--limit=12",
    "--limit=x",
    "--after",
    "WzEsImFsbCJd",
    "--after=abc",
    "--help",
    "-h",
    "--env-file",
    "x.env",
    "--env-file=y.env",
    "--",
    "",
    "promises",
    "--stat",
    "digest",
    "--print",
    "--send",
    "--status",
    "missed",
]


def typer_values(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any] | None:
    """What the Typer app passes to the command's body for ``argv`` (None: it did not call
    it: an error, ``--help``, or ``digest --send``, which has a body of its own)."""
    seen: dict[str, Any] = {}

    def called(command: str, **values: Any) -> None:
        seen.update(values, command=command)
        seen["env_file"] = str(cli_context.state.env_file)
        seen["env_file_named"] = cli_context.state.env_file_named

    def threads(state_filter, as_json, now, limit, after) -> None:
        called(
            "threads", state_filter=state_filter, as_json=as_json, now=now, limit=limit, after=after
        )

    def digest(show, as_json, now) -> None:
        called("digest", show=show, as_json=as_json, now=now)

    def promises(status, as_json, now) -> None:
        called("promises", status=status, as_json=as_json, now=now)

    with monkeypatch.context() as patch:
        patch.setattr(threads_command, "show_threads", threads)
        patch.setattr(digest_command, "show_digest", digest)
        patch.setattr(promises_command, "show_promises", promises)
        CliRunner().invoke(app, argv)
    return seen or None


def quick_values(argv: list[str]) -> dict[str, Any] | None:
    call = quick_call(argv)
    if call is None:
        return None
    return {
        **call.options,
        "command": call.command,
        "env_file": call.env_file if call.env_file is not None else ".env",
        "env_file_named": call.env_file is not None,
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["threads"],
        ["threads", "--state", "overdue", "--json"],
        ["threads", "--json", "--state=awaiting_them", "--limit", "5"],
        ["threads", "--now", NOW, "--limit=12", "--after", "WzEsImFsbCJd"],
        ["--env-file", "x.env", "threads", "--state", "overdue", "--json"],
        ["--env-file=y.env", "threads"],
        ["threads", "--state", "bogus"],  # the command itself says what is wrong
        ["threads", "--after", "not-a-cursor"],
        ["digest"],
        ["digest", "--print"],
        ["digest", "--json", "--now", NOW],
        ["--env-file=y.env", "digest", "--print", "--json", f"--now={NOW}"],
        ["digest", "--now", "yesterday"],  # the command itself says what is wrong
        ["promises"],
        ["promises", "--json"],
        ["promises", "--status", "missed", "--json", "--now", NOW],
        ["--env-file", "x.env", "promises", "--status=bogus"],
    ],
)
def test_plain_command_lines_take_the_quick_path_with_typers_values(argv, monkeypatch) -> None:
    quick = quick_values(argv)
    assert quick is not None, "a plain command line must take the quick path"
    assert quick == typer_values(argv, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["threads", "--help"],
        ["threads", "--limit", "0"],  # below --limit's minimum: Typer's error
        ["threads", "--limit", "x"],
        ["threads", "--json", "--json"],
        ["threads", "--state"],
        ["threads", "extra"],
        ["thread", "close", "3"],
        ["digest", "--send"],  # sends mail: always Typer's path
        ["digest", "--print", "--send", "--json"],
        ["digest", "--print=1"],
        ["digest", "--now"],
        ["promises", "--status"],
        ["promises", "--status", "open", "--status", "kept"],
        ["promises", "--stat", "open"],
        ["promise", "done", "3"],
        ["--env-file", "threads"],
    ],
)
def test_anything_else_goes_to_typer(argv) -> None:
    assert quick_call(argv) is None


VALUES = {
    "--state": ["overdue", "all", "bogus", "", "-x", "awaiting_us"],
    "--now": [NOW, "yesterday", "", "-1"],
    "--limit": ["5", "1", "0", "07", "x", "-3", "123456789012"],
    "--after": ["WzEsImFsbCJd", "abc", "", "--json"],
    "--status": ["missed", "open", "bogus", "", "-k", "--json"],
}
FLAGS = ("--json", "--print", "--send")
#: each command's options (the flags among them take no value)
OPTIONS = {
    "threads": ["--state", "--now", "--limit", "--after", "--json"],
    "digest": ["--now", "--json", "--print", "--send"],
    "promises": ["--status", "--now", "--json"],
}


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A read command with its options in any order and form, sometimes odd."""
    argv: list[str] = []
    if draw(st.booleans()):
        name = draw(st.sampled_from(["x.env", "conf/y.env", "", "--json"]))
        argv += draw(st.sampled_from([["--env-file", name], [f"--env-file={name}"]]))
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv.append(command)
    names = draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=5, unique=True))
    if draw(st.integers(0, 9)) == 0:
        names.append(draw(st.sampled_from(OPTIONS[command])))  # once more
    for name in names:
        if name in FLAGS:
            argv.append(draw(st.sampled_from([name, name, f"{name}=1"])))
            continue
        plain = draw(st.booleans())  # half the time the first, plain value
        value = VALUES[name][0] if plain else draw(st.sampled_from(VALUES[name]))
        argv += draw(st.sampled_from([[name, value], [f"{name}={value}"]]))
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(TOKENS)))
    return argv


@settings(max_examples=300, deadline=None)
@given(command_lines())
def test_whatever_the_quick_path_accepts_typer_reads_the_same(argv) -> None:
    quick = quick_values(argv)
    if quick is None:
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert typer_values(argv, monkeypatch) == quick


def test_the_generated_command_lines_mostly_take_the_quick_path() -> None:
    """(So that the test above compares many accepted lines, not only declined ones.)"""
    accepted = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(command_lines())
    def count(argv: list[str]) -> None:
        accepted.append(quick_values(argv) is not None)

    count()
    assert sum(accepted) > len(accepted) // 4


def test_digest_with_send_never_takes_the_quick_path() -> None:
    @settings(max_examples=200, deadline=None, database=None)
    @given(command_lines())
    def check(argv: list[str]) -> None:
        if any(a.startswith("--send") for a in argv):
            assert quick_call(argv) is None

    check()


def test_the_settings_file_is_a_path_relative_to_where_the_command_runs() -> None:
    call = quick_call(["--env-file", "conf/team.env", "threads"])
    assert call is not None and call.env_file == "conf/team.env"
    assert Path(call.env_file) == Path("conf") / "team.env"
