"""Structured logs (text or JSON) that never carry a secret."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SECRET_RE = re.compile(
    r"(?i)(password|passwd|secret|token|authorization)(\s*[=:]\s*|\"\s*:\s*\")([^\s\"',;]+)"
)


# user:password@ in a URL; greedy up to the token's last '@' (a raw '@' in the password).
_URL_USERINFO_RE = re.compile(r"(\b[a-z][\w+.-]*://[^\s:/@]*:)\S*@")


def redact(text: str) -> str:
    """Mask anything that looks like ``password=...``, a URL's password or a bearer token."""
    text = _URL_USERINFO_RE.sub(lambda m: f"{m.group(1)}***@", text)
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}********", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = (
                    value
                    if isinstance(value, int | float | bool) or value is None
                    else redact(str(value))
                )
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-30 14:05:09 info mailwatch.sync: ...`` in the mailbox's TIMEZONE.

    The one clock: a person reading the log sees the same local time as on the web page and
    in the digest (the zone is named once, in the service's first line); JSON logs keep UTC.
    """

    def __init__(self, tz: tzinfo | None = None) -> None:
        super().__init__()
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.tz or UTC)
        if self.tz is None:
            moment = moment.astimezone()  # the machine's zone when none is configured
        return moment.strftime(datefmt or "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        line = f"{self.formatTime(record)} {record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if extras:
            line += f" [{extras}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def setup_logging(fmt: str = "text", level: str = "info", tz_name: str | None = None) -> None:
    """Logs to stderr; the libraries' own chatter only from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    tz = ZoneInfo(tz_name) if tz_name else None
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(tz))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("imapclient", "alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
