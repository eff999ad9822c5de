"""One family of errors a user can act on.

Every failure the user should read ends as a :class:`MailwatchError`. It carries the one line the
user sees, the command line's exit code and the web page's HTTP status, so that exactly one place
per edge maps it: the Typer wrapper in the CLI and the Starlette exception handler on the web page.
Nothing else catches these errors to turn them into output.

Exit codes (docs/cli.md): 0 done; 1 the work failed (a server refused, a send failed); 2 a mistake
in what was asked (a bad option, a bad setting, a missing database).

This module imports nothing from mailwatch, so every layer may raise these errors.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_FAILED",
    "EXIT_USAGE",
    "ConfigError",
    "Conflict",
    "DatabaseNotReady",
    "LeaseBusy",
    "LeaseLost",
    "MailAccessError",
    "MailwatchError",
    "NotFound",
    "UsageError",
    "WorkFailed",
    "error_report",
]

EXIT_FAILED = 1
EXIT_USAGE = 2


class MailwatchError(Exception):
    """The base of every error whose message is meant for the user.

    ``str(error)`` is the message without prefix (what tests and logs compare); ``user_line`` is
    what the CLI prints after ``error:`` and the web page shows: ``prefix: message``.
    """

    exit_code: ClassVar[int] = EXIT_USAGE
    http_status: ClassVar[int] = 400
    #: names the area the error comes from ("config", "--now"), printed before the message
    prefix: ClassVar[str] = ""

    def __init__(
        self,
        message: str = "",
        *,
        exit_code: int | None = None,
        http_status: int | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(message)
        # instance overrides of the class defaults, for the rare error that knows better
        if exit_code is not None:
            self.exit_code = exit_code  # type: ignore[misc]
        if http_status is not None:
            self.http_status = http_status  # type: ignore[misc]
        if prefix is not None:
            self.prefix = prefix  # type: ignore[misc]

    @property
    def message(self) -> str:
        return str(self)

    @property
    def user_line(self) -> str:
        """The one line the user reads: ``prefix: message`` (no prefix when there is none)."""
        text = str(self) or type(self).__name__
        prefix = self.shown_prefix()
        return f"{prefix}: {text}" if prefix else text

    def shown_prefix(self) -> str:
        """The prefix as the user reads it; a subclass above i18n may translate it here
        (this module imports nothing from mailwatch, so it cannot)."""
        return self.prefix


class UsageError(MailwatchError):
    """What was asked cannot be done as asked: a bad option value, a wrong state for an action."""


class ConfigError(MailwatchError, ValueError):
    """A setting is missing or wrong; ``str()`` is ``KEY: problem``, the one line shown."""

    prefix = "config"
    http_status = 500

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class DatabaseNotReady(MailwatchError):
    """The database is missing or its schema is older than this version."""

    http_status = 503


class NotFound(MailwatchError):
    """The thread, promise or draft named does not exist."""

    http_status = 404


class Conflict(MailwatchError):
    """The object is in a state that refuses the action (a sent draft cannot be edited)."""

    http_status = 409


class WorkFailed(MailwatchError):
    """The request was right but the work failed (exit 1): a server refused, a send failed."""

    exit_code = EXIT_FAILED
    http_status = 502


class MailAccessError(WorkFailed):
    """A problem reaching or logging in to the mail server, said in one clear line.

    ``retry_after`` (seconds) is the least wait the server asked for (Office 365's
    "Suggested Backoff Time"); a reconnect loop must not try again sooner.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class LeaseLost(WorkFailed, RuntimeError):
    """A write under a lease that this process no longer holds; nothing was written."""


class LeaseBusy(WorkFailed, RuntimeError):
    """The lease row stayed locked (a holder's write is committing): try again next round."""


def error_report(error: MailwatchError, label: str = "error:") -> tuple[str, int]:
    """What a process that ends on ``error`` prints and returns: one line and the exit code.

    The one mapping for every command-line edge (the Typer wrapper in ``mailwatch.cli``,
    ``python -m mailwatch.send``), so the exit-code rules live in the error classes only.
    ``label`` is the prefix the caller shows (the CLI passes it translated).
    """
    return f"{label} {error.user_line}", error.exit_code
