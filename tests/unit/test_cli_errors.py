"""One place maps an error to what the user sees: the root group of the CLI prints
``error: <user_line>`` on standard error and exits with the error's code, for every
MailwatchError raised anywhere below a command; `python -m mailwatch.send` uses the same mapping."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mailwatch import i18n
from mailwatch.auth.tokens import TokenError
from mailwatch.cli import app as mailwatch_app
from mailwatch.cli.output import ErrorReportingGroup, print_problem
from mailwatch.drafts.service import DraftError
from mailwatch.errors import (
    ConfigError,
    Conflict,
    DatabaseNotReady,
    LeaseBusy,
    MailAccessError,
    MailwatchError,
    NotFound,
    UsageError,
    WorkFailed,
    error_report,
)
from mailwatch.send.__main__ import main as send_main
from mailwatch.service.main import AlreadyRunning
from mailwatch.track.actions import ActionError

# (the error raised, the exit code, the one line printed)
CASES = [
    (UsageError("'x' is not one of a, b", prefix="--state"), 2, "error: --state: 'x' is not one of a, b"),
    (ConfigError("MAILWATCH_IMAP_PORT", "'imap' is not valid"), 2, "error: config: MAILWATCH_IMAP_PORT: 'imap' is not valid"),
    (DatabaseNotReady("the database is missing"), 2, "error: the database is missing"),
    (NotFound("no thread with id 9"), 2, "error: no thread with id 9"),
    (Conflict("draft 3 is sent; only pending drafts change"), 2, "error: draft 3 is sent; only pending drafts change"),
    (WorkFailed("refused: a@b.c: 550 no such user"), 1, "error: refused: a@b.c: 550 no such user"),
    (MailAccessError("imap.example.com: login refused"), 1, "error: imap.example.com: login refused"),
    (TokenError("sign-in did not complete: expired_token"), 1, "error: sign-in did not complete: expired_token"),
    (ActionError("no thread with id 7"), 2, "error: no thread with id 7"),
    (DraftError("no draft with id 5"), 2, "error: no draft with id 5"),
    (AlreadyRunning("another mailwatch run uses the database"), 2, "error: another mailwatch run uses the database"),
    (LeaseBusy("the mailbox's lease is held by w1"), 1, "error: the mailbox's lease is held by w1"),
    (UsageError("sign-in cancelled", exit_code=130), 130, "error: sign-in cancelled"),
]  # fmt: skip


def _app(error: BaseException) -> typer.Typer:
    """A root app with the wrapper, the error raised two levels down (a group's command)."""
    app = typer.Typer(cls=ErrorReportingGroup)
    group = typer.Typer()

    @group.command("do")
    def do() -> None:
        raise error

    @app.callback()
    def root() -> None:
        pass

    app.add_typer(group, name="group")
    return app


@pytest.mark.parametrize(("error", "code", "line"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_is_one_line_and_its_exit_code(error, code, line):
    result = CliRunner().invoke(_app(error), ["group", "do"])
    assert result.exit_code == code
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("error", "code", "line"), CASES, ids=lambda v: type(v).__name__)
def test_the_mapping_is_the_errors_own(error, code, line):
    assert error_report(error) == (line, code)


def test_brackets_in_a_message_are_printed_as_they_are():
    message = "imap.example.com: [AUTHENTICATIONFAILED] LIST error: BAD [b'not connected']"
    result = CliRunner().invoke(_app(MailAccessError(message)), ["group", "do"])
    assert result.stderr.strip() == f"error: {message}"  # not taken for console markup


def test_other_exceptions_are_not_swallowed():
    """A bug is not a user's mistake: it keeps its traceback (and is not exit 2)."""
    result = CliRunner().invoke(_app(RuntimeError("a bug")), ["group", "do"])
    assert isinstance(result.exception, RuntimeError)
    assert "error:" not in result.stderr


def test_the_error_label_follows_the_interface_language():
    def raise_in_russian() -> None:
        i18n.set_language("ru")  # what `settings()` does for UI_LANGUAGE=ru
        raise NotFound("no thread with id 9")

    app = typer.Typer(cls=ErrorReportingGroup)
    app.command("do")(raise_in_russian)
    app.callback()(lambda: None)
    try:
        result = CliRunner().invoke(app, ["do"])
    finally:
        i18n.set_language(None)
    assert result.exit_code == 2
    assert result.stderr.strip() == "ошибка: no thread with id 9"


def test_the_real_app_maps_a_bad_option_value(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here: nothing is read
    result = CliRunner().invoke(mailwatch_app, ["threads", "--state", "late"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: --state: 'late' is not one of awaiting_us")


def _env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.env"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def root_logging():
    """The entry point sets up logging on the root logger: put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("root_logging")
def test_send_entry_point_maps_errors_the_same_way(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MAILWATCH_DATABASE_URL", raising=False)
    bad = _env(tmp_path, "MAILWATCH_IMAP_PORT=imap\nMAILWATCH_IMAP_HOST=x.example.com\n")
    assert send_main(["--env-file", str(bad)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: config: MAILWATCH_IMAP_PORT: 'imap' is not valid: expected a whole number "
        "from 1 to 65535"
    ]
    good = _env(
        tmp_path,
        f"MAILWATCH_DATABASE_URL=sqlite:///{tmp_path / 'mw.db'}\n"
        "MAILWATCH_IMAP_HOST=x.example.com\nMAILWATCH_IMAP_USERNAME=a@example.com\n"
        "MAILWATCH_IMAP_PASSWORD=x\n",
    )
    assert send_main(["--env-file", str(good), "--now", "2026-03-11T10:00:00"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --now: '2026-03-11T10:00:00' is not ISO 8601 with an offset"
    ]
    assert send_main(["--env-file", str(good)]) == 2  # no `mailwatch init` yet
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "error: the database is missing or out of date: run `mailwatch init`"
    )


def test_every_user_facing_error_has_an_exit_code_and_a_line():
    """The classes the wrapper relies on: every one carries its code and line."""
    for error, code, _line in CASES:
        assert isinstance(error, MailwatchError)
        assert error.exit_code == code and error.user_line


def test_a_reported_problem_keeps_the_servers_words(capsys):
    """Per-mailbox failures (check, sync, auth status) print the server's answer as it is."""
    print_problem(
        "IMAP", "LIST command error: BAD [b'User is authenticated but not connected.']", "  "
    )
    assert capsys.readouterr().err == (
        "  IMAP: LIST command error: BAD [b'User is authenticated but not connected.']\n"
    )
