"""Settings from ``.env`` and the environment, checked once, into one frozen object.

A wrong value stops start-up with one line naming the key (``ConfigError``). Keys that only
some commands need (the mailbox credentials) are checked by ``Settings.require_mailboxes``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit
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
from mailwatch.core.text import LANGUAGES
from mailwatch.errors import ConfigError
from mailwatch.i18n import N_, _

PREFIX = "MAILWATCH_"
DEFAULT_MAILBOX = "main"
SECURITY_CHOICES = ("ssl", "starttls", "none")
AUTH_CHOICES = ("password", "oauth2")
OAUTH_FLOWS = ("device", "client_credentials", "command")
OFFICE365_IMAP_HOST = "outlook.office365.com"
OFFICE365_SMTP_HOST = "smtp.office365.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DRAFT_KINDS = ("acknowledgment", "decline", "renegotiation", "follow_up", "closing", "clarify")


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
    # SIGNATURE_EN/RU/RO/ES: the signature in the draft's language; unset ones use ``signature``
    signatures: Mapping[str, str] = field(default_factory=dict)
    # every MAILBOX_KEYS value in force (parsed), and the text of those set in the env
    values: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    raw: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def value(self, key: str) -> Any:
        """A per-mailbox setting by its table key (the first mailbox's when this one is unset)."""
        if key not in self.values:
            raise KeyError(f"{key} is not a per-mailbox setting")
        return self.values[key]

    def signature_for(self, language: str) -> str:
        """The signature for a draft in ``language`` (SIGNATURE_<LANG>, else SIGNATURE)."""
        return self.signatures.get(language) or self.signature

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
    # an acknowledgment's "full answer by": the end of the Nth business day after today
    ack_answer_within: int = 1
    # issue #16 (hold under faults and abuse): see docs/security.md
    web_trusted_proxies: tuple[str, ...] = ()
    public_url: str = ""
    trusted_authserv_ids: frozenset[str] = frozenset()
    auto_send_daily_cap: int = 20
    # backlog policy (mailwatch.service.backlog): business days, 0 = off; drafts per hour
    ack_backlog_limit: int = 1
    auto_drafts_per_hour: int = 30
    # every GLOBAL_KEYS value in force (parsed), and the text of those set in the env
    values: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    raw: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def value(self, key: str) -> Any:
        """A global setting by its table key (parsed; its default when unset)."""
        if key not in self.values:
            raise KeyError(f"{key} is not a global setting")
        return self.values[key]

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
        raise ConfigError(
            f"{PREFIX}MAILBOXES",
            _("no mailbox named %(name)r (configured: %(names)s)", name=name, names=names),
        )

    def require_mailboxes(self) -> None:
        """Raise the first problem that stops mail access (a missing host, user or password)."""
        if self.problems:
            raise self.problems[0]


T = TypeVar("T")


_TABLE: Any = object()  # "take it from the settings table"


class _Reader:
    def __init__(self, values: Mapping[str, str], prefix: str = PREFIX) -> None:
        self.values = values
        self.prefix = prefix  # how the key is named in error lines

    def raw(self, key: str) -> str | None:
        value = self.values.get(PREFIX + key)
        if value is None:
            return None
        value = value.strip()
        return value if value != "" else None

    def get(self, key: str, default: Any = _TABLE, convert: Any = _TABLE) -> Any:
        """The key's value parsed by the table's ``parse`` (or ``convert``), else its default."""
        setting = SETTING.get(key)
        if convert is _TABLE:
            convert = setting.parse if setting is not None else str
        value = self.raw(key)
        if value is None:
            if default is _TABLE:
                return setting.default_value if setting is not None else None
            return default
        try:
            return convert(value)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                self.prefix + key, _("%(value)r is not valid: %(why)s", value=value, why=exc)
            ) from None


class _Fallback(_Reader):
    """An extra mailbox's keys; a key it does not set is the first mailbox's."""

    def __init__(self, own: _Reader, first: _Reader, prefix: str) -> None:
        super().__init__(own.values, prefix)
        self.first = first

    def raw(self, key: str) -> str | None:
        found = super().raw(key)
        return found if found is not None else self.first.raw(key)


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(
                _("expected a whole number from %(low)d to %(high)d", low=low, high=high)
            ) from None
        if not low <= number <= high:
            raise ValueError(
                _("expected a whole number from %(low)d to %(high)d", low=low, high=high)
            )
        return number

    return convert


def _workers(value: str) -> int | None:
    """``auto`` (None: decided from the CPU count) or a number of worker processes."""
    if value.strip().lower() == "auto":
        return None
    return _int_range(0, 4)(value)


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(_("expected one of %(choices)s", choices=", ".join(choices)))
        return value.lower()

    return convert


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(_("expected true or false"))


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,\s]+", value) if item.strip())


def _emails(value: str) -> tuple[str, ...]:
    items = tuple(item.lower() for item in _list(value))
    for item in items:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", item):
            raise ValueError(_("%(item)r is not an email address", item=item))
    return items


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            _("unknown time zone (use an IANA name such as Europe/Chisinau)")
        ) from None
    return value


def _clock(value: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(_("expected a local time such as 08:30"))
    return time(int(match.group(1)), int(match.group(2)))


def _positive_duration(value: str) -> timedelta:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError(_("expected a positive duration such as 4h or 30m"))
    return duration


def _database_url(value: str) -> str:
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        raise ValueError(_("expected sqlite:///path.db or postgresql+psycopg://user@host/db"))
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    return normalize_url(value)  # a raw '@' in the password is percent-encoded


def _web_bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(_("expected HOST:PORT such as 127.0.0.1:8025"))
    _int_range(1, 65535)(port)
    return value


def _country(value: str) -> str:
    import holidays  # lazy: ~0.25 s of CLI start-up, needed only when a country is set

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
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"cannot split it into words ({exc})") from None
    if not words:
        raise ValueError("empty command")
    return value


def _mailbox_names(value: str) -> tuple[str, ...]:
    names = _list(value)
    if not names:
        raise ValueError("expected at least one mailbox name")
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9]*", name):
            raise ValueError(
                f"{name!r}: mailbox names are lower-case letters and digits (they become "
                f"key prefixes such as {PREFIX}SUPPORT_IMAP_HOST)"
            )
    if len(set(names)) != len(names):
        raise ValueError("a mailbox name is listed twice")
    return names


def _domains(value: str) -> frozenset[str]:
    return frozenset(d.lower().lstrip("@") for d in _list(value))


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n")


def _draft_kinds(value: str) -> frozenset[str]:
    kinds = _list(value)
    for kind in kinds:
        if kind not in DRAFT_KINDS:
            raise ValueError(
                _(
                    "unknown draft kind %(kind)r (kinds: %(kinds)s)",
                    kind=kind,
                    kinds=", ".join(DRAFT_KINDS),
                )
            )
    return frozenset(kinds)


def _languages(value: str) -> tuple[str, ...]:
    languages = _list(value)
    for language in languages:
        if language not in LANGUAGES:
            raise ValueError(
                _(
                    "unsupported language %(language)r (supported: en, ru, ro, es)",
                    language=language,
                )
            )
    return languages


def _directory(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise ValueError(_("%(value)r is not a directory", value=value))
    return path


# -- the settings table --------------------------------------------------------------------------
#
MIN_REMOTE_PASSWORD = 12


def _weak_password(password: str) -> str | None:
    """Why a password is too weak for a page reachable from other machines (None: fine)."""
    if len(password) < MIN_REMOTE_PASSWORD:
        return f"is shorter than {MIN_REMOTE_PASSWORD} characters"
    if len(set(password)) < 6:
        return "repeats too few different characters"
    lowered = password.lower()
    if any(word in lowered for word in ("password", "mailwatch", "123456", "qwerty")):
        return "contains a well-known word or sequence"
    return None


def _proxies(value: str) -> tuple[str, ...]:
    items = _list(value)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8)"
            ) from None
    return items


def _public_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "expected the page's address as users reach it, e.g. https://mail.example.com"
        )
    if parts.hostname in ("0.0.0.0", "::") or parts.query or parts.fragment:
        raise ValueError(f"{value!r} is not an address a browser can open")
    return value


# Every setting is ONE entry here. From this table come: the checks (each value is parsed by its
# ``parse`` and a wrong one stops start-up naming the key), the unknown-key check ("did you mean"),
# config.example.env and docs/configuration.md (``python -m mailwatch.settings_docs --write``;
# a test fails when they drift), and the web page's settings list. Code reads a value with
# ``settings.value("KEY")`` (global) or ``mailbox.value("KEY")`` (per mailbox); the few settings
# that other settings depend on also have typed fields on ``Settings``/``MailboxSettings``.


@dataclass(frozen=True)
class Setting:
    """One ``MAILWATCH_<key>`` setting."""

    key: str
    default: str  # as written in an env file; "" = unset (``default_note`` says what happens)
    type: str  # for people: "duration", "whole number 1-10000", "ssl | starttls | none"
    help: str  # one or two sentences; the first line of its comment in config.example.env
    section: str
    scope: str = "global"  # "global" or "mailbox" (an extra mailbox may set MAILWATCH_<NAME>_KEY)
    secret: bool = False  # never shown, never logged
    parse: Callable[[str], Any] = str  # the value's check and conversion; raises ValueError
    example: str | None = None  # the value written in config.example.env, when not the default
    default_note: str = ""  # the default in words, when it is derived from other settings
    unit: str = ""  # shown after the value on the settings page ("per minute")

    @property
    def default_value(self) -> Any:
        return self.parse(self.default) if self.default != "" else None


STORE, MAILBOXES_SECTION, OAUTH, BUSINESS = "Store", "Mailboxes", "OAuth2", "Business time"
DRAFTING, DIGEST, WEB, LOGS, TUNING = (
    "Drafts and sending",
    "Digest",
    "Web page",
    "Logs",
    "Sync tuning (the defaults suit most servers)",
)
SECTIONS = (STORE, MAILBOXES_SECTION, OAUTH, BUSINESS, DRAFTING, DIGEST, WEB, LOGS, TUNING)
_MB = "mailbox"
_DURATION = N_("duration (4h, 30m, 1h30m, 1d; a bare number is minutes)")
_BOOL = "true | false"

SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "sqlite:///./mailwatch.db", "SQLAlchemy URL",
            N_("Where mailwatch keeps what it knows. SQLite (WAL mode) by default; PostgreSQL: "
            "postgresql+psycopg://user:password@host/db."), STORE, parse=_database_url),
    Setting("MAILBOXES", DEFAULT_MAILBOX, N_("names, comma-separated"),
            N_("Names of the watched mailboxes (lower-case letters and digits). The unprefixed "
            "mailbox keys are the FIRST mailbox; each further one sets MAILWATCH_<NAME>_<KEY> "
            "(e.g. MAILWATCH_SUPPORT_IMAP_USERNAME), and a key it does not set falls back to "
            "the first's."), MAILBOXES_SECTION, parse=_mailbox_names),
    Setting("IMAP_HOST", "", N_("host name"),
            N_("REQUIRED to watch mail: the IMAP server (Office 365: outlook.office365.com)."),
            MAILBOXES_SECTION, _MB, example="imap.example.com"),
    Setting("IMAP_PORT", "", N_("port"), N_("The IMAP port."), MAILBOXES_SECTION, _MB,
            parse=_int_range(1, 65535), example="993",
            default_note=N_("993 for ssl, 143 for starttls or none")),
    Setting("IMAP_SECURITY", "ssl", "ssl | starttls | none",
            N_("ssl (implicit TLS), starttls, or none (plain text: loopback test servers only, "
            "unless ALLOW_INSECURE)."), MAILBOXES_SECTION, _MB, parse=_choice(SECURITY_CHOICES)),
    Setting("IMAP_USERNAME", "", N_("login"),
            N_("REQUIRED: the mailbox login (usually its address; also counted as one of our own "
            "addresses)."), MAILBOXES_SECTION, _MB, example="sales@example.com"),
    Setting("IMAP_PASSWORD", "", N_("secret"), N_("REQUIRED with IMAP_AUTH=password."),
            MAILBOXES_SECTION, _MB, secret=True),
    Setting("IMAP_AUTH", "password", "password | oauth2",
            N_("password, or oauth2 (XOAUTH2; see the OAUTH_* keys)."), MAILBOXES_SECTION, _MB,
            parse=_choice(AUTH_CHOICES)),
    Setting("SMTP_HOST", "", N_("host name"),
            N_("Outgoing mail for drafts and the digest. Empty: nothing can be sent."),
            MAILBOXES_SECTION, _MB, example="smtp.example.com",
            default_note=N_("smtp.office365.com when IMAP_HOST is outlook.office365.com, "
            "else none")),
    Setting("SMTP_PORT", "", N_("port"), N_("The SMTP port."), MAILBOXES_SECTION, _MB,
            parse=_int_range(1, 65535), example="587",
            default_note=N_("465 for ssl, 587 for starttls, 25 for none")),
    Setting("SMTP_SECURITY", "starttls", "ssl | starttls | none",
            N_("How the SMTP connection is protected."), MAILBOXES_SECTION, _MB,
            parse=_choice(SECURITY_CHOICES)),
    Setting("SMTP_USERNAME", "", N_("login"), N_("The SMTP login."), MAILBOXES_SECTION, _MB,
            default_note=N_("the IMAP username")),
    Setting("SMTP_PASSWORD", "", N_("secret"), N_("The SMTP password."), MAILBOXES_SECTION, _MB,
            secret=True, default_note=N_("the IMAP password")),
    Setting("SMTP_AUTH", "", "password | oauth2", N_("How SMTP logs in."), MAILBOXES_SECTION, _MB,
            parse=_choice(AUTH_CHOICES), default_note=N_("the same as IMAP_AUTH")),
    Setting("OWN_ADDRESSES", "", N_("email addresses, comma-separated"),
            N_("Our own addresses besides the login (aliases, shared mailboxes)."),
            MAILBOXES_SECTION, _MB, parse=_emails),
    Setting("BACKFILL_DAYS", "30", N_("whole number of days"),
            N_("How many days of history the first sync reads (0 = all history)."),
            MAILBOXES_SECTION, _MB, parse=_int_range(0, 36500), unit=N_("days")),
    Setting("OAUTH_TENANT", "organizations", N_("tenant id or domain"),
            N_("OAuth2 (XOAUTH2) for Office 365 or any provider: set IMAP_AUTH=oauth2 (see "
            "docs/outlook.md). The directory (tenant) id or domain (contoso.onmicrosoft.com); "
            "organizations only suits the device flow."), OAUTH, _MB, parse=_tenant),
    Setting("OAUTH_CLIENT_ID", "", "GUID",
            N_("REQUIRED for the device and client_credentials flows: the app registration's "
            "Application (client) ID."), OAUTH, _MB, parse=_client_id),
    Setting("OAUTH_CLIENT_SECRET", "", N_("secret"), N_("Client secret for the client-credentials flow."),
            OAUTH, _MB, secret=True),
    Setting("OAUTH_CLIENT_CERTIFICATE", "", N_("path"),
            N_("Instead of the secret: one PEM file with the app's certificate and its private key "
            "(mode 0600)."), OAUTH, _MB, parse=Path),
    Setting("OAUTH_FLOW", "", "device | client_credentials | command",
            N_("device (a person signs in once with `mailwatch auth login`), client_credentials "
            "(an app with a secret or certificate) or command (OAUTH_TOKEN_COMMAND)."),
            OAUTH, _MB, parse=_choice(OAUTH_FLOWS),
            default_note=N_("command when OAUTH_TOKEN_COMMAND is set, client_credentials when "
            "OAUTH_CLIENT_SECRET or OAUTH_CLIENT_CERTIFICATE is set, else device")),
    Setting("OAUTH_TOKEN_CACHE", "", N_("path"),
            N_("Where the device flow's token cache (with the refresh token) is kept: a 0600 file."),
            OAUTH, _MB, example="./mailwatch-main-token.json",
            default_note="./mailwatch-<mailbox>-token.json"),
    Setting("OAUTH_TOKEN_COMMAND", "", N_("command"),
            N_("A command (no shell; split like one) whose first line of output is an access "
            "token, for any provider; it sees MAILWATCH_OAUTH_USER. Timeout 30 s."),
            OAUTH, _MB, parse=_token_command),
    Setting("OAUTH_AUTHORITY", DEFAULT_AUTHORITY, "https URL",
            N_("The Microsoft identity platform host; change it only for a national cloud."),
            OAUTH, _MB, parse=_authority),
    Setting("TIMEZONE", "UTC", N_("IANA time zone"),
            N_("The mailbox's time zone: work hours, due dates, the digest and every time shown "
            "to people are in this zone."), BUSINESS, parse=_timezone, example="Europe/Chisinau"),
    Setting("WORK_HOURS", "09:00-18:00", "HH:MM-HH:MM", N_("Work hours."), BUSINESS,
            parse=parse_work_hours),
    Setting("WORK_DAYS", "Mon-Fri", N_("days of the week"), N_("Work days: ranges or lists of Mon Tue Wed Thu Fri "
            "Sat Sun (e.g. Mon-Fri, Sun-Thu)."), BUSINESS, parse=parse_work_days),
    Setting("HOLIDAYS_COUNTRY", "", N_("country code"),
            N_("Public holidays of this country (ISO code: MD, RU, RO, ES, US...)."), BUSINESS,
            parse=_country),
    Setting("CLOSED_DATES", "", N_("dates, comma-separated"), N_("Extra closed dates (YYYY-MM-DD)."),
            BUSINESS, parse=parse_dates),
    Setting("REPLY_SLA", "4h", _DURATION,
            N_("How soon a client must get an answer, in business time."), BUSINESS,
            parse=_positive_duration),
    Setting("ACK_AFTER", "", _DURATION,
            N_("When to draft an acknowledgment, before REPLY_SLA runs out (business time)."),
            BUSINESS, parse=_positive_duration, example="2h", default_note=N_("half of REPLY_SLA")),
    Setting("ACK_ANSWER_WITHIN", "1", N_("business days"),
            N_("An acknowledgment promises the full answer by the end of this many business days "
            "after today (never later than the client's own deadline)."), BUSINESS,
            parse=parse_business_days, unit=N_("business day(s)")),
    Setting("RENEGOTIATE_LEAD", "1", N_("business days"),
            N_("Renegotiate a promise this many business days before it is due."), BUSINESS,
            parse=parse_business_days, unit=N_("business day(s)")),
    Setting("FOLLOW_UP_AFTER", "3", N_("business days"),
            N_("Draft a follow-up after this many business days without the client's answer."),
            BUSINESS, parse=parse_business_days, unit=N_("business day(s)")),
    Setting("ACK_BACKLOG_LIMIT", "1", N_("business days (0 = no limit)"),
            N_("On the first start, threads already waiting longer than this get no automatic "
            "acknowledgment: the digest sums them up and the web page drafts them in bulk."),
            BUSINESS, parse=parse_business_days, unit=N_("business day(s)")),
    Setting("AUTO_DRAFTS_PER_HOUR", "30", N_("whole number 1-100000"),
            N_("At most this many automatic drafts an hour (the rest stay due and are written "
            "later; logged when reached)."), DRAFTING, parse=_int_range(1, 100000),
            unit=N_("drafts per hour")),
    Setting("INTERNAL_DOMAINS", "", N_("domains, comma-separated"),
            N_("Colleagues' domains: their mail never needs a reply from the sales inbox."),
            BUSINESS, parse=_domains, example="example.com"),
    Setting("SENDER_NAME", "", N_("text"), N_("Name put on drafts."), DRAFTING, _MB),
    Setting("SIGNATURE", "", N_("text (\\n for a line break)"), N_("Signature put on drafts."),
            DRAFTING, _MB, parse=_unescape),
    *(
        Setting(f"SIGNATURE_{lang.upper()}", "", N_("text (\\n for a line break)"), text,
                DRAFTING, _MB, parse=_unescape)
        for lang, text in (
            ("en", N_("Signature (with sign-off) for drafts written in English; empty: SIGNATURE.")),
            ("ru", N_("Signature (with sign-off) for drafts written in Russian; empty: SIGNATURE.")),
            ("ro", N_("Signature (with sign-off) for drafts written in Romanian; empty: SIGNATURE.")),
            ("es", N_("Signature (with sign-off) for drafts written in Spanish; empty: SIGNATURE.")),
        )
    ),
    Setting("AUTO_SEND", "", N_("draft kinds, comma-separated"),
            N_("Draft kinds sent without approval (acknowledgment, decline, renegotiation, "
            "follow_up). Empty: nothing is sent unapproved."), DRAFTING, parse=_draft_kinds),
    Setting("SEND_RATE", "30", N_("whole number 1-10000"),
            N_("At most this many messages per minute (Office 365 allows 30)."), DRAFTING,
            parse=_int_range(1, 10000), unit=N_("messages per minute")),
    Setting("SENT_COPY", "auto", "auto | always | never",
            N_("Put a copy of sent mail in Sent: auto (unless the server does it), always, never."),
            DRAFTING, parse=_choice(("auto", "always", "never"))),
    Setting("DRAFTS_TO_MAILBOX", "false", _BOOL,
            N_("Also put pending drafts into the mailbox's Drafts folder."), DRAFTING, parse=_bool),
    Setting("TEMPLATES_DIR", "", N_("directory"),
            N_("A directory whose templates override the shipped ones, file by file."), DRAFTING,
            parse=_directory),
    Setting("LANGUAGES", ",".join(LANGUAGES), N_("languages, comma-separated"),
            N_("Languages to detect and write in (a subset of en, ru, ro, es)."), DRAFTING,
            parse=_languages),
    Setting("UI_LANGUAGE", "", "en | ru | ro | es",
            N_("The language people read: the digest, the web page and the command line's "
            "messages (the drafts are in the client's language). Per mailbox: the digest "
            "speaks the first mailbox's."), DIGEST, _MB, parse=_choice(LANGUAGES),
            default_note=N_("English; the web page follows the browser's Accept-Language and "
            "its language switch")),
    Setting("DIGEST_AT", "08:30", N_("HH:MM"), N_("Local time of the daily digest."), DIGEST,
            parse=_clock),
    Setting("DIGEST_TO", "", N_("email addresses, comma-separated"), N_("Who gets the daily digest."),
            DIGEST, parse=_emails),
    Setting("WEB_BIND", "127.0.0.1:8025", "HOST:PORT",
            N_("Where the approval page listens (loopback by default)."), WEB, parse=_web_bind),
    Setting("WEB_PASSWORD", "", N_("secret"),
            N_("Login password for the web page; empty: the page is off (/healthz and /metrics "
            "still answer)."), WEB, secret=True),
    Setting("WEB_SECRET", "", N_("secret"),
            N_("Key that signs sessions and digest links (a long random value)."), WEB, secret=True),
    Setting("WEB_ALLOW_REMOTE", "false", _BOOL,
            N_("Allow WEB_BIND on an address other machines can reach (e.g. 0.0.0.0 in a "
            "container). Off by default: the page shows client mail."), WEB, parse=_bool),
    Setting("WEB_TRUSTED_PROXIES", "", N_("IP addresses or networks, comma-separated"),
            N_("Reverse proxies whose X-Forwarded-For is believed (for the login's per-client "
            "backoff). Empty: the header is ignored, whoever sends it."), WEB, parse=_proxies),
    Setting("PUBLIC_URL", "", "URL",
            N_("The web page's address as people reach it, for links in the digest and emails "
            "(e.g. https://mail.example.com)."), WEB, parse=_public_url,
            default_note=N_("http://WEB_BIND when it is an address a browser can open")),
    Setting("TRUSTED_AUTHSERV_IDS", "", N_("host names, comma-separated"),
            N_("authserv-ids of YOUR mail servers whose Authentication-Results (DMARC, DKIM, SPF) "
            "are believed before an automatic reply to a first-time correspondent."), DRAFTING,
            parse=lambda v: frozenset(item.lower() for item in _list(v))),
    Setting("AUTO_SEND_DAILY_CAP", "20", N_("whole number 0-100000"),
            N_("At most this many automatic sends a day across all recipients (logged when "
            "reached; the rest wait for approval)."), DRAFTING, parse=_int_range(0, 100000),
            unit=N_("messages per day")),
    Setting("LOG_FORMAT", "text", "text | json", N_("The log's format."), LOGS,
            parse=_choice(("text", "json"))),
    Setting("LOG_LEVEL", "info", "debug | info | warning | error",
            N_("The log's level (the libraries' own lines show only from warning up)."), LOGS,
            parse=_choice(("debug", "info", "warning", "error"))),
    Setting("IMAP_TIMEOUT", "60", N_("seconds, 5-3600"),
            N_("Seconds before a silent server counts as gone (every socket read has it)."),
            TUNING, parse=_int_range(5, 3600), unit=N_("s")),
    Setting("IDLE_RENEW", "10m", _DURATION,
            N_("Re-issue IDLE at least this often (servers drop IDLE after 29 minutes)."), TUNING,
            parse=_positive_duration),
    Setting("POLL_INTERVAL", "2m", _DURATION,
            N_("A full reconciliation pass at least this often (also the poll interval without "
            "IDLE)."), TUNING, parse=_positive_duration),
    Setting("FLAG_SCAN_INTERVAL", "15m", _DURATION,
            N_("Without CONDSTORE (Office 365): re-read the flags of recent mail this often."),
            TUNING, parse=_positive_duration),
    Setting("FLAG_SCAN_DAYS", "14", N_("whole number of days"),
            N_("...for the messages of the last this many days."), TUNING,
            parse=_int_range(1, 3650), unit=N_("days")),
    Setting("ANALYSIS_DAYS", "90", N_("whole number of days"),
            N_("Read the text of messages newer than this for language, promises, requested "
            "deadlines and warning signs (0 = all history); older mail is classified from its "
            "headers."), TUNING, parse=_int_range(0, 36500), unit=N_("days")),
    Setting("ANALYSIS_WORKERS", "auto", N_("auto | whole number 0-4"),
            N_("Processes that analyse message text (language, deadlines, promises, warning "
               "signs) beside the sync during a backfill: auto is one fewer than the CPU cores; 0 "
               "analyses in the main process."), TUNING, parse=_workers),
    Setting("FETCH_BATCH", "500", N_("whole number 10-5000"),
            N_("Messages per FETCH batch (and per checkpointed transaction)."), TUNING,
            parse=_int_range(10, 5000)),
    Setting("TEXT_PREFIX_BYTES", "8192", N_("bytes, 512-65536"),
            N_("Bytes of each message's text part fetched (headers are always fetched whole)."),
            TUNING, parse=_int_range(512, 65536), unit=N_("bytes")),
    Setting("THREAD_SUBJECT_WINDOW", "30d", _DURATION,
            N_("Last-resort threading by subject and counterpart only within this window."),
            TUNING, parse=_positive_duration),
    Setting("LEASE_TTL", "60", N_("seconds, 3-3600"),
            N_("Several workers on PostgreSQL: a worker's mailboxes and unfinished scheduled "
               "runs are taken over this long after it dies (leases and heartbeats are renewed "
               "every third of it)."),
            TUNING, parse=_int_range(3, 3600), unit=N_("s")),
    Setting("ALLOW_INSECURE", "false", _BOOL,
            N_("Allow IMAP/SMTP security none to hosts other than loopback (passwords in clear "
            "text)."), TUNING, parse=_bool),
)  # fmt: skip

SETTING = {s.key: s for s in SETTINGS}
GLOBAL_KEYS = tuple(s.key for s in SETTINGS if s.scope == "global")
# Keys an extra mailbox may set as MAILWATCH_<NAME>_<KEY>; unset ones fall back to the first's.
MAILBOX_KEYS = tuple(s.key for s in SETTINGS if s.scope == _MB)
ALL_KEYS = GLOBAL_KEYS + MAILBOX_KEYS
SECRET_KEYS = frozenset(s.key for s in SETTINGS if s.secret)
# MAILWATCH_* names that are not settings: the demo's switch, test-only fault injection and the
# simulated clock of the week test (mailwatch/clock.py), and
# what a token command is given. They never stop start-up as unknown keys.
NOT_SETTINGS = frozenset(
    {
        "MAILWATCH_DEMO_KEEP_RUNNING",
        "MAILWATCH_TEST_CRASH_AFTER",
        "MAILWATCH_TEST_TMPDIR",
        "MAILWATCH_OAUTH_USER",
        "MAILWATCH_OAUTH_MAILBOX",
        "MAILWATCH_SIMULATED_CLOCK",
    }
)


def _oauth(
    read: _Reader, name: str, uses_oauth: bool, problems: list[ConfigError]
) -> OAuthSettings:
    """The OAUTH_* keys; checked against the flow only when IMAP or SMTP uses oauth2.

    Without OAUTH_FLOW the flow follows from what is set: a token command alone means the
    command flow, a client secret or certificate the client-credentials flow, else device.
    """
    prefix = read.prefix
    token_command = read.get("OAUTH_TOKEN_COMMAND") or ""
    client_secret = read.get("OAUTH_CLIENT_SECRET") or ""
    certificate = read.get("OAUTH_CLIENT_CERTIFICATE")
    inferred = (
        "command"
        if token_command
        else "client_credentials"
        if client_secret or certificate is not None
        else "device"
    )
    oauth = OAuthSettings(
        tenant=read.get("OAUTH_TENANT"),
        client_id=read.get("OAUTH_CLIENT_ID") or "",
        client_secret=Secret(client_secret),
        flow=read.get("OAUTH_FLOW", inferred),
        token_cache=Path(read.get("OAUTH_TOKEN_CACHE", f"./mailwatch-{name}-token.json")),
        token_command=token_command,
        authority=read.get("OAUTH_AUTHORITY"),
        client_certificate=certificate,
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
    read: _Reader, proto: str, allow_insecure: bool, problems: list[ConfigError]
) -> ServerSettings:
    prefix = read.prefix
    value = read.raw
    get = read.get

    host = value(f"{proto}_HOST") or ""
    if proto == "SMTP" and not host and _is_office365(value("IMAP_HOST")):
        host = OFFICE365_SMTP_HOST  # Office 365: submission on 587 with STARTTLS
    security = get(f"{proto}_SECURITY")
    default_port = {
        ("IMAP", "ssl"): 993,
        ("IMAP", "starttls"): 143,
        ("IMAP", "none"): 143,
        ("SMTP", "ssl"): 465,
        ("SMTP", "starttls"): 587,
        ("SMTP", "none"): 25,
    }[(proto, security)]
    port = get(f"{proto}_PORT", default_port)
    auth = get(f"{proto}_AUTH", "password")
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
            problems.append(
                ConfigError(prefix + "IMAP_HOST", _("missing: the IMAP server to watch"))
            )
        elif not username:
            problems.append(ConfigError(prefix + "IMAP_USERNAME", _("missing: the mailbox login")))
        elif auth == "password" and not password:
            problems.append(
                ConfigError(prefix + "IMAP_PASSWORD", _("missing (or set IMAP_AUTH=oauth2)"))
            )
    return ServerSettings(host, port, security, username, Secret(password), auth)


def _mailbox(
    name: str, read: _Reader, allow_insecure: bool, problems: list[ConfigError]
) -> MailboxSettings:
    imap = _server(read, "IMAP", allow_insecure, problems)
    smtp = _server(read, "SMTP", allow_insecure, problems)
    # An extra mailbox's own addresses are its own: OWN_ADDRESSES does not fall back.
    own_text = _Reader.raw(read, "OWN_ADDRESSES")
    own_listed: tuple[str, ...] = ()
    if own_text:
        try:
            own_listed = _emails(own_text)
        except ValueError as exc:
            raise ConfigError(
                read.prefix + "OWN_ADDRESSES", f"{own_text!r} is not valid: {exc}"
            ) from None
    own = set(own_listed)
    if "@" in imap.username:
        own.add(imap.username.lower())
    uses_oauth = imap.auth == "oauth2" or (bool(smtp.host) and smtp.auth == "oauth2")
    oauth = _oauth(read, name, uses_oauth, problems)
    values = {key: read.get(key) for key in MAILBOX_KEYS}
    # what other settings decided, so that value() and the settings page show what is in force
    values.update(
        OWN_ADDRESSES=own_listed,
        IMAP_PORT=imap.port,
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        SMTP_USERNAME=smtp.username,
        SMTP_AUTH=smtp.auth,
        OAUTH_FLOW=oauth.flow,
        OAUTH_TOKEN_CACHE=oauth.token_cache,
    )
    return MailboxSettings(
        name=name,
        imap=imap,
        smtp=smtp,
        oauth=oauth,
        own_addresses=frozenset(own),
        sender_name=read.get("SENDER_NAME") or "",
        signature=read.get("SIGNATURE") or "",
        backfill_days=read.get("BACKFILL_DAYS"),
        values=values,
        raw={
            key: raw
            for key in MAILBOX_KEYS
            if (raw := (_Reader.raw(read, key) if key == "OWN_ADDRESSES" else read.raw(key)))
            is not None
        },
        signatures={
            lang: text
            for lang in LANGUAGES
            if (text := read.get(f"SIGNATURE_{lang.upper()}") or "")
        },
    )


def _sub_reader(values: Mapping[str, str], name: str, first: _Reader) -> _Reader:
    head = f"{PREFIX}{name.upper()}_"
    own = _Reader({PREFIX + k[len(head) :]: v for k, v in values.items() if k.startswith(head)})
    return _Fallback(own, first, head)


class MissingEnvFile(ConfigError):
    """The env file named on the command line does not exist."""


def load_settings(
    env_file: Path | None = Path(".env"),
    environ: Mapping[str, str] | None = None,
    *,
    required: bool = False,
) -> Settings:
    """Read ``env_file`` under the process environment, which wins.

    ``required``: the file was named by the user (``--env-file``), so a missing one is an error
    rather than "no file, the environment only".
    """
    values: dict[str, str] = {}
    if env_file is not None:
        if env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        elif required or env_file.exists():
            raise MissingEnvFile(
                "--env-file",
                _(
                    "%(path)r is not a file (copy config.example.env to start one)",
                    path=str(env_file),
                )
                if env_file.exists()
                else _(
                    "%(path)r does not exist (copy config.example.env to start one)",
                    path=str(env_file),
                ),
            )
    environ = os.environ if environ is None else environ
    values.update({k: v for k, v in environ.items() if k.startswith(PREFIX)})
    return settings_from_values(values)


def env_language(env_file: Path | None = Path(".env")) -> str | None:
    """The first mailbox's UI_LANGUAGE from the environment or ``env_file``, unchecked.

    Why: a command's option errors (``--state nonsense``) and the settings' own errors come
    before the settings are loaded; they are said in this language. Anything unreadable is
    None (English); :func:`load_settings` reports the real problem.
    """
    key = PREFIX + "UI_LANGUAGE"
    value = os.environ.get(key)
    if value is None and env_file is not None:
        try:
            value = dotenv_values(env_file).get(key) if env_file.is_file() else None
        except (OSError, UnicodeDecodeError, ValueError):
            value = None
    value = (value or "").strip().lower()
    return value if value in LANGUAGES else None


def known_keys(mailbox_names: Sequence[str]) -> list[str]:
    """Every MAILWATCH_* name that is a setting, given the mailboxes' names."""
    known = [PREFIX + key for key in ALL_KEYS]
    for name in mailbox_names[1:]:
        known += [f"{PREFIX}{name.upper()}_{key}" for key in MAILBOX_KEYS]
    return known


def check_unknown_keys(values: Mapping[str, str], mailbox_names: Sequence[str]) -> None:
    """A misspelled key would be ignored silently: stop, name it and suggest the nearest key."""
    known = set(known_keys(mailbox_names))
    for key in sorted(values):
        if not key.startswith(PREFIX) or key in known or key in NOT_SETTINGS:
            continue
        head, _sep, tail = key[len(PREFIX) :].partition("_")
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        if tail in MAILBOX_KEYS and re.fullmatch(r"[A-Z][A-Z0-9]*", head):
            problem = _(
                "unknown setting; %(name)r is not in %(key)s (%(names)s); add it there to "
                "configure that mailbox",
                name=head.lower(),
                key=f"{PREFIX}MAILBOXES",
                names=", ".join(mailbox_names),
            )
        elif close:
            problem = _("unknown setting; did you mean %(key)s?", key=close[0])
        else:
            problem = _("unknown setting; see config.example.env for the keys")
        raise ConfigError(key, problem)


def settings_from_values(values: Mapping[str, str]) -> Settings:
    read = _Reader(values)
    names = read.get("MAILBOXES")
    check_unknown_keys(values, names)
    g = {key: read.get(key) for key in GLOBAL_KEYS}
    allow_insecure = g["ALLOW_INSECURE"]
    problems: list[ConfigError] = []
    mailboxes = [_mailbox(names[0], read, allow_insecure, problems)]
    for name in names[1:]:
        mailboxes.append(_mailbox(name, _sub_reader(values, name, read), allow_insecure, problems))
    seen: dict[tuple[str, str], str] = {}
    for mailbox in mailboxes:
        ident = (mailbox.imap.host.lower(), mailbox.imap.username.lower())
        if mailbox.imap.host and ident in seen:
            raise ConfigError(
                f"{mailbox.env_prefix}IMAP_USERNAME",
                f"mailbox {mailbox.name!r} is the same account as {seen[ident]!r}",
            )
        seen[ident] = mailbox.name
    work_start, work_end = g["WORK_HOURS"]
    calendar = BusinessCalendar(
        tz_name=g["TIMEZONE"],
        work_start=work_start,
        work_end=work_end,
        work_days=g["WORK_DAYS"],
        holidays_country=g["HOLIDAYS_COUNTRY"],
        extra_closed=g["CLOSED_DATES"] or frozenset[date](),
    )
    reply_sla = g["REPLY_SLA"]
    if g["ACK_AFTER"] is None:
        g["ACK_AFTER"] = reply_sla / 2
    ack_after = g["ACK_AFTER"]
    if ack_after >= reply_sla:
        raise ConfigError(
            PREFIX + "ACK_AFTER",
            f"must be shorter than REPLY_SLA ({reply_sla}) so the acknowledgment comes before "
            "the thread is overdue",
        )
    web_bind = g["WEB_BIND"]
    web_allow_remote = g["WEB_ALLOW_REMOTE"]
    _check_remote_password(g)
    web_host = web_bind.rpartition(":")[0].strip("[]")
    if not web_allow_remote and not is_loopback(web_host):
        raise ConfigError(
            PREFIX + "WEB_BIND",
            f"{web_bind!r} is reachable from other machines; the page shows client mail, so "
            f"this needs {PREFIX}WEB_ALLOW_REMOTE=true (and a strong {PREFIX}WEB_PASSWORD)",
        )
    return Settings(
        database_url=g["DATABASE_URL"],
        mailboxes=tuple(mailboxes),
        calendar=calendar,
        reply_sla=reply_sla,
        ack_after=ack_after,
        ack_answer_within=g["ACK_ANSWER_WITHIN"],
        renegotiate_lead=g["RENEGOTIATE_LEAD"],
        digest_at=g["DIGEST_AT"],
        digest_to=g["DIGEST_TO"] or (),
        internal_domains=g["INTERNAL_DOMAINS"] or frozenset(),
        auto_send=g["AUTO_SEND"] or frozenset(),
        follow_up_after=g["FOLLOW_UP_AFTER"],
        send_rate=g["SEND_RATE"],
        sent_copy=g["SENT_COPY"],
        drafts_to_mailbox=g["DRAFTS_TO_MAILBOX"],
        templates_dir=g["TEMPLATES_DIR"],
        log_format=g["LOG_FORMAT"],
        log_level=g["LOG_LEVEL"],
        web_bind=web_bind,
        web_allow_remote=web_allow_remote,
        web_password=Secret(g["WEB_PASSWORD"] or ""),
        web_secret=Secret(g["WEB_SECRET"] or ""),
        languages=g["LANGUAGES"] or (),
        imap_timeout=float(g["IMAP_TIMEOUT"]),
        idle_renew=g["IDLE_RENEW"],
        poll_interval=g["POLL_INTERVAL"],
        flag_scan_interval=g["FLAG_SCAN_INTERVAL"],
        flag_scan_days=g["FLAG_SCAN_DAYS"],
        analysis_days=g["ANALYSIS_DAYS"],
        fetch_batch=g["FETCH_BATCH"],
        text_prefix_bytes=g["TEXT_PREFIX_BYTES"],
        thread_subject_window=g["THREAD_SUBJECT_WINDOW"],
        problems=tuple(problems),
        values=g,
        raw={key: raw for key in GLOBAL_KEYS if (raw := read.raw(key)) is not None},
        web_trusted_proxies=g["WEB_TRUSTED_PROXIES"] or (),
        public_url=g["PUBLIC_URL"] or "",
        trusted_authserv_ids=g["TRUSTED_AUTHSERV_IDS"] or frozenset(),
        auto_send_daily_cap=g["AUTO_SEND_DAILY_CAP"],
        ack_backlog_limit=g["ACK_BACKLOG_LIMIT"],
        auto_drafts_per_hour=g["AUTO_DRAFTS_PER_HOUR"],
    )


def _check_remote_password(g: Mapping[str, Any]) -> None:
    """A page reachable from other machines needs a password worth the name."""
    password = g["WEB_PASSWORD"] or ""
    if g["WEB_ALLOW_REMOTE"] and password:
        why = _weak_password(password)
        if why is not None:
            raise ConfigError(
                PREFIX + "WEB_PASSWORD",
                f"the password {why}; with WEB_ALLOW_REMOTE=true the login page is reachable "
                f"from other machines, so use at least {MIN_REMOTE_PASSWORD} varied characters",
            )


def describe(settings: Settings) -> dict[str, Any]:
    """The settings in force with secrets masked, for `check` and the web page."""
    out: dict[str, Any] = {"database_url": mask_url(settings.database_url), "mailboxes": []}
    for mailbox in settings.mailboxes:
        out["mailboxes"].append(
            {
                "name": mailbox.name,
                "imap": server_text(mailbox.imap),
                "smtp": server_text(mailbox.smtp) if mailbox.smtp.host else "not configured",
                "own_addresses": sorted(mailbox.own_addresses),
                "backfill_days": mailbox.backfill_days,
            }
        )
    return out


def server_text(server: ServerSettings) -> str:
    """``sales@example.com at imap.example.com:993 (TLS)``: no password, no made-up scheme."""
    how = {"ssl": "TLS", "starttls": "STARTTLS", "none": "no encryption"}[server.security]
    who = f"{server.username} at " if server.username else ""
    return f"{who}{server.host}:{server.port} ({how})"


_SECRET_QUERY_KEY = re.compile(r"(?i)pass|secret|token|key|auth")


def normalize_url(url: str) -> str:
    """Percent-encode a raw '@' (or ':') in the URL's user name or password.

    ``postgresql://bob:p@ss@db/mw`` means the password ``p@ss``: libraries split at the first
    '@' and then both connect wrongly and show the password's tail as the host.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    head, qmark, query = rest.partition("?")
    at = head.rfind("@")
    if at <= 0 or "@" not in head[:at]:
        return url
    user, colon, password = head[:at].partition(":")
    userinfo = quote(unquote(user), safe="")
    if colon:
        userinfo += ":" + quote(unquote(password), safe="")
    return f"{scheme}://{userinfo}@{head[at + 1 :]}{qmark}{query}"


def mask_url(url: str) -> str:
    """The URL as it may be shown (init, /settings, logs): SQLAlchemy's own rendering with the
    password hidden, and password-like query parameters (``?password=``) hidden too."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy costs ~0.4 s of CLI start-up

    try:
        parsed = make_url(normalize_url(url))
    except Exception:
        scheme = url.partition("://")[0] if "://" in url else "database"
        return f"{scheme}://(unreadable URL, hidden)"
    query = {
        key: ("***" if _SECRET_QUERY_KEY.search(key) else value)
        for key, value in parsed.query.items()
    }
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace("%2A%2A%2A", "***")


_mask_url = mask_url
