"""Settings from ``.env`` and the environment, checked once, into one frozen object.

A wrong value stops start-up with one line naming the key (``ConfigError``). Keys that only
some commands need (the mailbox credentials) are checked by ``Settings.require_mailboxes``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from mailwatch.core.business_time import (
    BusinessCalendar,
    parse_business_days,
    parse_dates,
    parse_duration,
    parse_work_days,
    parse_work_hours,
)

PREFIX = "MAILWATCH_"
DEFAULT_MAILBOX = "main"
SECURITY_CHOICES = ("ssl", "starttls", "none")
AUTH_CHOICES = ("password", "oauth2")
OAUTH_FLOWS = ("device", "client_credentials", "command")
OFFICE365_IMAP_HOST = "outlook.office365.com"
OFFICE365_SMTP_HOST = "smtp.office365.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DRAFT_KINDS = ("acknowledgment", "decline", "renegotiation", "follow_up")
LANGUAGES = ("en", "ru", "ro", "es")

# Keys an extra mailbox may set as MAILWATCH_<NAME>_<KEY>; unset ones fall back to the first's.
MAILBOX_KEYS = (
    "IMAP_HOST",
    "IMAP_PORT",
    "IMAP_SECURITY",
    "IMAP_USERNAME",
    "IMAP_PASSWORD",
    "IMAP_AUTH",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_AUTH",
    "OAUTH_TENANT",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "OAUTH_FLOW",
    "OAUTH_TOKEN_CACHE",
    "OAUTH_TOKEN_COMMAND",
    "OAUTH_AUTHORITY",
    "OAUTH_CLIENT_CERTIFICATE",
    "OWN_ADDRESSES",
    "SENDER_NAME",
    "SIGNATURE",
    "BACKFILL_DAYS",
)

GLOBAL_KEYS = (
    "DATABASE_URL",
    "MAILBOXES",
    "TIMEZONE",
    "WORK_HOURS",
    "WORK_DAYS",
    "HOLIDAYS_COUNTRY",
    "CLOSED_DATES",
    "REPLY_SLA",
    "ACK_AFTER",
    "RENEGOTIATE_LEAD",
    "DIGEST_AT",
    "DIGEST_TO",
    "INTERNAL_DOMAINS",
    "AUTO_SEND",
    "FOLLOW_UP_AFTER",
    "ACK_BACKLOG_LIMIT",
    "AUTO_DRAFTS_PER_HOUR",
    "SEND_RATE",
    "SENT_COPY",
    "DRAFTS_TO_MAILBOX",
    "TEMPLATES_DIR",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "WEB_BIND",
    "WEB_PASSWORD",
    "WEB_SECRET",
    "WEB_ALLOW_REMOTE",
    "LANGUAGES",
    "ALLOW_INSECURE",
    "IMAP_TIMEOUT",
    "IDLE_RENEW",
    "POLL_INTERVAL",
    "FLAG_SCAN_INTERVAL",
    "FLAG_SCAN_DAYS",
    "ANALYSIS_DAYS",
    "FETCH_BATCH",
    "TEXT_PREFIX_BYTES",
    "THREAD_SUBJECT_WINDOW",
)

ALL_KEYS = GLOBAL_KEYS + MAILBOX_KEYS
SECRET_KEYS = frozenset(
    {"IMAP_PASSWORD", "SMTP_PASSWORD", "OAUTH_CLIENT_SECRET", "WEB_PASSWORD", "WEB_SECRET"}
)


class ConfigError(ValueError):
    """A setting is wrong or missing; ``str()`` is the one line shown to the user."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class Secret:
    """A value that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    security: str
    username: str
    password: Secret
    auth: str


@dataclass(frozen=True)
class OAuthSettings:
    tenant: str
    client_id: str
    client_secret: Secret
    flow: str
    token_cache: Path
    token_command: str
    authority: str = DEFAULT_AUTHORITY  # Entra ID host (another cloud, or a test server)
    client_certificate: Path | None = None  # PEM: private key + certificate (app flow)


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    imap: ServerSettings
    smtp: ServerSettings
    oauth: OAuthSettings
    own_addresses: frozenset[str]
    sender_name: str
    signature: str
    backfill_days: int

    @property
    def env_prefix(self) -> str:
        return PREFIX if self.name == DEFAULT_MAILBOX else f"{PREFIX}{self.name.upper()}_"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(repr=False)  # may hold a password
    mailboxes: tuple[MailboxSettings, ...]
    calendar: BusinessCalendar
    reply_sla: timedelta
    ack_after: timedelta
    renegotiate_lead: int
    digest_at: time
    digest_to: tuple[str, ...]
    internal_domains: frozenset[str]
    auto_send: frozenset[str]
    follow_up_after: int
    send_rate: int
    sent_copy: str
    drafts_to_mailbox: bool
    templates_dir: Path | None
    log_format: str
    log_level: str
    web_bind: str
    web_allow_remote: bool
    web_password: Secret
    web_secret: Secret
    languages: tuple[str, ...]
    imap_timeout: float
    idle_renew: timedelta
    poll_interval: timedelta
    flag_scan_interval: timedelta
    flag_scan_days: int
    analysis_days: int
    fetch_batch: int
    text_prefix_bytes: int
    thread_subject_window: timedelta
    problems: tuple[ConfigError, ...] = field(default=())
    # Backlog policy (mailwatch.service.backlog): business days, 0 = off; drafts per hour.
    ack_backlog_limit: int = 1
    auto_drafts_per_hour: int = 30

    @property
    def own_addresses(self) -> frozenset[str]:
        """Every address of every watched mailbox: mail between them is ours, not a client's."""
        result: set[str] = set()
        for mailbox in self.mailboxes:
            result |= mailbox.own_addresses
        return frozenset(result)

    def mailbox(self, name: str) -> MailboxSettings:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        names = ", ".join(m.name for m in self.mailboxes)
        raise ConfigError(f"{PREFIX}MAILBOXES", f"no mailbox named {name!r} (configured: {names})")

    def require_mailboxes(self) -> None:
        """Raise the first problem that stops mail access (a missing host, user or password)."""
        if self.problems:
            raise self.problems[0]


T = TypeVar("T")


class _Reader:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def raw(self, key: str) -> str | None:
        value = self.values.get(PREFIX + key)
        if value is None:
            return None
        value = value.strip()
        return value if value != "" else None

    def get(self, key: str, default: T, convert: Callable[[str], T]) -> T:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return convert(value)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigError(PREFIX + key, f"{value!r} is not valid: {exc}") from None


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return number

    return convert


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value.lower()

    return convert


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,\s]+", value) if item.strip())


def _emails(value: str) -> tuple[str, ...]:
    items = tuple(item.lower() for item in _list(value))
    for item in items:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", item):
            raise ValueError(f"{item!r} is not an email address")
    return items


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone (use an IANA name such as Europe/Chisinau)") from None
    return value


def _clock(value: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("expected a local time such as 08:30")
    return time(int(match.group(1)), int(match.group(2)))


def _positive_duration(value: str) -> timedelta:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("expected a positive duration such as 4h or 30m")
    return duration


def _database_url(value: str) -> str:
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        raise ValueError("expected sqlite:///path.db or postgresql+psycopg://user@host/db")
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    return value


def _web_bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT such as 127.0.0.1:8025")
    _int_range(1, 65535)(port)
    return value


def _country(value: str) -> str:
    import holidays

    code = value.upper()
    try:
        holidays.country_holidays(code)
    except NotImplementedError:
        raise ValueError(
            "unknown country code for public holidays (use ISO codes: MD, RU)"
        ) from None
    return code


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_office365(host: str | None) -> bool:
    return (host or "").strip().rstrip(".").lower() == OFFICE365_IMAP_HOST


_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DOMAIN_RE = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SHARED_TENANTS = ("organizations", "common", "consumers")


def _tenant(value: str) -> str:
    if value.lower() in _SHARED_TENANTS:
        return value.lower()
    if not (_GUID_RE.fullmatch(value) or _DOMAIN_RE.fullmatch(value)):
        raise ValueError(
            "expected the directory (tenant) id, a GUID, or its domain such as "
            "contoso.onmicrosoft.com (or organizations for the device flow)"
        )
    return value


def _client_id(value: str) -> str:
    if not _GUID_RE.fullmatch(value):
        raise ValueError("expected the app registration's Application (client) ID, a GUID")
    return value


def _authority(value: str) -> str:
    match = re.fullmatch(r"https://([A-Za-z0-9.-]+)(:\d{1,5})?/?", value)
    if not match:
        raise ValueError(
            "expected https://HOST without a path, such as https://login.microsoftonline.com "
            "(the tenant comes from OAUTH_TENANT)"
        )
    return value.rstrip("/")


def _token_command(value: str) -> str:
    import shlex

    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"cannot split it into words ({exc})") from None
    if not words:
        raise ValueError("empty command")
    return value


def _oauth(
    get: Callable[[str, Any, Callable[[str], Any]], Any],
    name: str,
    prefix: str,
    uses_oauth: bool,
    problems: list[ConfigError],
) -> OAuthSettings:
    """The OAUTH_* keys; checked against the flow only when IMAP or SMTP uses oauth2."""
    oauth = OAuthSettings(
        tenant=get("OAUTH_TENANT", "organizations", _tenant),
        client_id=get("OAUTH_CLIENT_ID", "", _client_id),
        client_secret=Secret(get("OAUTH_CLIENT_SECRET", "", str)),
        flow=get("OAUTH_FLOW", "device", _choice(OAUTH_FLOWS)),
        token_cache=Path(get("OAUTH_TOKEN_CACHE", f"./mailwatch-{name}-token.json", str)),
        token_command=get("OAUTH_TOKEN_COMMAND", "", _token_command),
        authority=get("OAUTH_AUTHORITY", DEFAULT_AUTHORITY, _authority),
        client_certificate=get("OAUTH_CLIENT_CERTIFICATE", None, Path),
    )
    if not uses_oauth:
        return oauth
    if oauth.flow == "command":
        if not oauth.token_command:
            problems.append(
                ConfigError(
                    prefix + "OAUTH_TOKEN_COMMAND",
                    "missing: OAUTH_FLOW=command needs a command that prints an access token",
                )
            )
        return oauth
    if not oauth.client_id:
        problems.append(
            ConfigError(
                prefix + "OAUTH_CLIENT_ID",
                f"missing: the Application (client) ID of the app registration (OAUTH_FLOW={oauth.flow})",
            )
        )
    if oauth.flow == "client_credentials":
        if oauth.tenant in _SHARED_TENANTS:
            raise ConfigError(
                prefix + "OAUTH_TENANT",
                f"{oauth.tenant!r} cannot be used with OAUTH_FLOW=client_credentials: set the "
                "directory (tenant) id or domain the app is registered in",
            )
        if not oauth.client_secret and oauth.client_certificate is None:
            problems.append(
                ConfigError(
                    prefix + "OAUTH_CLIENT_SECRET",
                    "missing: OAUTH_FLOW=client_credentials needs a client secret "
                    "(or OAUTH_CLIENT_CERTIFICATE)",
                )
            )
        elif oauth.client_certificate is not None and not oauth.client_certificate.is_file():
            problems.append(
                ConfigError(
                    prefix + "OAUTH_CLIENT_CERTIFICATE",
                    f"{str(oauth.client_certificate)!r} is not a file (PEM with the private key "
                    "and the certificate)",
                )
            )
    return oauth


def _server(
    read: _Reader,
    fallback: _Reader | None,
    proto: str,
    allow_insecure: bool,
    problems: list[ConfigError],
    prefix: str,
) -> ServerSettings:
    def value(key: str) -> str | None:
        found = read.raw(key)
        if found is None and fallback is not None:
            found = fallback.raw(key)
        return found

    def get(key: str, default: T, convert: Callable[[str], T]) -> T:
        raw = value(key)
        if raw is None:
            return default
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(prefix + key, f"{raw!r} is not valid: {exc}") from None

    host = value(f"{proto}_HOST") or ""
    if proto == "SMTP" and not host and _is_office365(value("IMAP_HOST")):
        host = OFFICE365_SMTP_HOST  # Office 365: submission on 587 with STARTTLS
    security = get(
        f"{proto}_SECURITY", "ssl" if proto == "IMAP" else "starttls", _choice(SECURITY_CHOICES)
    )
    default_port = {
        ("IMAP", "ssl"): 993,
        ("IMAP", "starttls"): 143,
        ("IMAP", "none"): 143,
        ("SMTP", "ssl"): 465,
        ("SMTP", "starttls"): 587,
        ("SMTP", "none"): 25,
    }[(proto, security)]
    port = get(f"{proto}_PORT", default_port, _int_range(1, 65535))
    auth = get(f"{proto}_AUTH", "password", _choice(AUTH_CHOICES))
    if proto == "SMTP" and value("SMTP_AUTH") is None and value("IMAP_AUTH") is not None:
        # The same account and the same way in, unless told otherwise.
        auth = _choice(AUTH_CHOICES)(value("IMAP_AUTH") or "password")
    username = value(f"{proto}_USERNAME") or ""
    password = value(f"{proto}_PASSWORD") or ""
    if proto == "SMTP":
        # SMTP usually shares the IMAP account; only the host must be given.
        username = username or (value("IMAP_USERNAME") or "")
        password = password or (value("IMAP_PASSWORD") or "")
    if host and security == "none" and not is_loopback(host) and not allow_insecure:
        raise ConfigError(
            prefix + f"{proto}_SECURITY",
            f"'none' would send the password in clear text to {host}; it is for loopback test "
            f"servers only (set {PREFIX}ALLOW_INSECURE=true to override)",
        )
    if proto == "IMAP":
        if not host:
            problems.append(ConfigError(prefix + "IMAP_HOST", "missing: the IMAP server to watch"))
        elif not username:
            problems.append(ConfigError(prefix + "IMAP_USERNAME", "missing: the mailbox login"))
        elif auth == "password" and not password:
            problems.append(
                ConfigError(prefix + "IMAP_PASSWORD", "missing (or set IMAP_AUTH=oauth2)")
            )
    return ServerSettings(host, port, security, username, Secret(password), auth)


def _mailbox(
    name: str,
    read: _Reader,
    fallback: _Reader | None,
    allow_insecure: bool,
    problems: list[ConfigError],
) -> MailboxSettings:
    prefix = PREFIX if fallback is None else f"{PREFIX}{name.upper()}_"

    def get(key: str, default: T, convert: Callable[[str], T]) -> T:
        raw = read.raw(key)
        if raw is None and fallback is not None:
            raw = fallback.raw(key)
        if raw is None:
            return default
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(prefix + key, f"{raw!r} is not valid: {exc}") from None

    imap = _server(read, fallback, "IMAP", allow_insecure, problems, prefix)
    smtp = _server(read, fallback, "SMTP", allow_insecure, problems, prefix)
    own_raw = read.raw("OWN_ADDRESSES")
    try:
        own = set(_emails(own_raw)) if own_raw else set()
    except ValueError as exc:
        raise ConfigError(prefix + "OWN_ADDRESSES", f"{own_raw!r} is not valid: {exc}") from None
    if "@" in imap.username:
        own.add(imap.username.lower())
    uses_oauth = imap.auth == "oauth2" or (bool(smtp.host) and smtp.auth == "oauth2")
    oauth = _oauth(get, name, prefix, uses_oauth, problems)
    return MailboxSettings(
        name=name,
        imap=imap,
        smtp=smtp,
        oauth=oauth,
        own_addresses=frozenset(own),
        sender_name=get("SENDER_NAME", "", str),
        signature=get("SIGNATURE", "", lambda v: v.replace("\\n", "\n")),
        backfill_days=get("BACKFILL_DAYS", 30, _int_range(0, 36500)),
    )


def _sub_reader(values: Mapping[str, str], name: str) -> _Reader:
    head = f"{PREFIX}{name.upper()}_"
    return _Reader({PREFIX + k[len(head) :]: v for k, v in values.items() if k.startswith(head)})


def load_settings(
    env_file: Path | None = Path(".env"), environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``env_file`` (when it exists) under the process environment, which wins."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.exists():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    environ = os.environ if environ is None else environ
    values.update({k: v for k, v in environ.items() if k.startswith(PREFIX)})
    return settings_from_values(values)


def settings_from_values(values: Mapping[str, str]) -> Settings:
    read = _Reader(values)
    allow_insecure = read.get("ALLOW_INSECURE", False, _bool)
    names = read.get("MAILBOXES", (DEFAULT_MAILBOX,), _list)
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9]*", name):
            raise ConfigError(
                PREFIX + "MAILBOXES",
                f"{name!r}: mailbox names are lower-case letters and digits (they become "
                f"key prefixes such as {PREFIX}SUPPORT_IMAP_HOST)",
            )
    if len(set(names)) != len(names):
        raise ConfigError(PREFIX + "MAILBOXES", "a mailbox name is listed twice")
    problems: list[ConfigError] = []
    mailboxes = [_mailbox(names[0], read, None, allow_insecure, problems)]
    for name in names[1:]:
        mailboxes.append(_mailbox(name, _sub_reader(values, name), read, allow_insecure, problems))
    seen: dict[tuple[str, str], str] = {}
    for mailbox in mailboxes:
        ident = (mailbox.imap.host.lower(), mailbox.imap.username.lower())
        if mailbox.imap.host and ident in seen:
            raise ConfigError(
                f"{mailbox.env_prefix}IMAP_USERNAME",
                f"mailbox {mailbox.name!r} is the same account as {seen[ident]!r}",
            )
        seen[ident] = mailbox.name
    work_start, work_end = read.get("WORK_HOURS", (time(9), time(18)), parse_work_hours)
    calendar = BusinessCalendar(
        tz_name=read.get("TIMEZONE", "UTC", _timezone),
        work_start=work_start,
        work_end=work_end,
        work_days=read.get("WORK_DAYS", frozenset(range(5)), parse_work_days),
        holidays_country=read.get("HOLIDAYS_COUNTRY", None, _country),
        extra_closed=read.get("CLOSED_DATES", frozenset[date](), parse_dates),
    )
    reply_sla = read.get("REPLY_SLA", timedelta(hours=4), _positive_duration)
    ack_after = read.get("ACK_AFTER", reply_sla / 2, _positive_duration)
    if ack_after >= reply_sla:
        raise ConfigError(
            PREFIX + "ACK_AFTER",
            f"must be shorter than REPLY_SLA ({reply_sla}) so the acknowledgment comes before "
            "the thread is overdue",
        )
    auto_send = read.get("AUTO_SEND", (), _list)
    for kind in auto_send:
        if kind not in DRAFT_KINDS:
            raise ConfigError(
                PREFIX + "AUTO_SEND",
                f"unknown draft kind {kind!r} (kinds: {', '.join(DRAFT_KINDS)})",
            )
    languages = read.get("LANGUAGES", LANGUAGES, _list)
    for language in languages:
        if language not in LANGUAGES:
            raise ConfigError(
                PREFIX + "LANGUAGES",
                f"unsupported language {language!r} (supported: en, ru, ro, es)",
            )
    templates_dir = read.get("TEMPLATES_DIR", None, Path)
    if templates_dir is not None and not templates_dir.is_dir():
        raise ConfigError(PREFIX + "TEMPLATES_DIR", f"{str(templates_dir)!r} is not a directory")
    web_bind = read.get("WEB_BIND", "127.0.0.1:8025", _web_bind)
    web_allow_remote = read.get("WEB_ALLOW_REMOTE", False, _bool)
    web_host = web_bind.rpartition(":")[0].strip("[]")
    if not web_allow_remote and not is_loopback(web_host):
        raise ConfigError(
            PREFIX + "WEB_BIND",
            f"{web_bind!r} is reachable from other machines; the page shows client mail, so "
            f"this needs {PREFIX}WEB_ALLOW_REMOTE=true (and a strong {PREFIX}WEB_PASSWORD)",
        )
    return Settings(
        database_url=read.get("DATABASE_URL", "sqlite:///./mailwatch.db", _database_url),
        mailboxes=tuple(mailboxes),
        calendar=calendar,
        reply_sla=reply_sla,
        ack_after=ack_after,
        renegotiate_lead=read.get("RENEGOTIATE_LEAD", 1, parse_business_days),
        digest_at=read.get("DIGEST_AT", time(8, 30), _clock),
        digest_to=read.get("DIGEST_TO", (), _emails),
        internal_domains=frozenset(
            d.lower().lstrip("@") for d in read.get("INTERNAL_DOMAINS", (), _list)
        ),
        auto_send=frozenset(auto_send),
        follow_up_after=read.get("FOLLOW_UP_AFTER", 3, parse_business_days),
        send_rate=read.get("SEND_RATE", 30, _int_range(1, 10000)),
        sent_copy=read.get("SENT_COPY", "auto", _choice(("auto", "always", "never"))),
        drafts_to_mailbox=read.get("DRAFTS_TO_MAILBOX", False, _bool),
        templates_dir=templates_dir,
        log_format=read.get("LOG_FORMAT", "text", _choice(("text", "json"))),
        log_level=read.get("LOG_LEVEL", "info", _choice(("debug", "info", "warning", "error"))),
        web_bind=web_bind,
        web_allow_remote=web_allow_remote,
        web_password=Secret(read.get("WEB_PASSWORD", "", str)),
        web_secret=Secret(read.get("WEB_SECRET", "", str)),
        languages=languages,
        imap_timeout=float(read.get("IMAP_TIMEOUT", 60, _int_range(5, 3600))),
        idle_renew=read.get("IDLE_RENEW", timedelta(minutes=10), _positive_duration),
        poll_interval=read.get("POLL_INTERVAL", timedelta(minutes=2), _positive_duration),
        flag_scan_interval=read.get(
            "FLAG_SCAN_INTERVAL", timedelta(minutes=15), _positive_duration
        ),
        flag_scan_days=read.get("FLAG_SCAN_DAYS", 14, _int_range(1, 3650)),
        analysis_days=read.get("ANALYSIS_DAYS", 90, _int_range(0, 36500)),
        fetch_batch=read.get("FETCH_BATCH", 500, _int_range(10, 5000)),
        text_prefix_bytes=read.get("TEXT_PREFIX_BYTES", 8192, _int_range(512, 65536)),
        thread_subject_window=read.get(
            "THREAD_SUBJECT_WINDOW", timedelta(days=30), _positive_duration
        ),
        problems=tuple(problems),
        ack_backlog_limit=read.get("ACK_BACKLOG_LIMIT", 1, parse_business_days),
        auto_drafts_per_hour=read.get("AUTO_DRAFTS_PER_HOUR", 30, _int_range(1, 100000)),
    )


def describe(settings: Settings) -> dict[str, Any]:
    """The settings in force with secrets masked, for `check` and the web page."""
    out: dict[str, Any] = {"database_url": _mask_url(settings.database_url), "mailboxes": []}
    for mailbox in settings.mailboxes:
        out["mailboxes"].append(
            {
                "name": mailbox.name,
                "imap": f"{mailbox.imap.security}://{mailbox.imap.username}@{mailbox.imap.host}:{mailbox.imap.port}",
                "smtp": f"{mailbox.smtp.security}://{mailbox.smtp.username}@{mailbox.smtp.host}:{mailbox.smtp.port}",
                "own_addresses": sorted(mailbox.own_addresses),
                "backfill_days": mailbox.backfill_days,
            }
        )
    return out


def _mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:********@", url)
