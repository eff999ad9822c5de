"""The sample conversations of `mailwatch demo` and how they reach the mailbox.

The .eml files in ``data/`` are APPENDed over IMAP with imapclient (the path real mail takes
in), dated relative to now so that "overdue" means something today.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from imapclient import IMAPClient

from mailwatch.core.parse import parse_message

__all__ = [
    "DEMO_TIMEZONE",
    "SAMPLES",
    "Sample",
    "load_samples",
    "sample_bytes",
    "sample_date",
    "sample_notes",
    "with_date",
]

DEMO_TIMEZONE = "Europe/Chisinau"
# Folders a fresh pymap account lacks (it has INBOX only); found by name, as pymap has no
# SPECIAL-USE.
EXTRA_FOLDERS = ("Sent", "Drafts")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample message: where it goes and when it was written, relative to now.

    The .eml files carry a valid fixed ``Date`` (so they parse on their own); the loader
    replaces it with ``business_days_ago`` at ``at`` (demo time zone), or ``hours_ago``,
    rendered in the sender's own zone as a real client's mailer would.
    """

    file: str
    folder: str
    zone: str
    note: str
    flags: tuple[str, ...] = ("\\Seen",)
    business_days_ago: int = 0
    at: str = "10:00"
    hours_ago: float = 0.0


SAMPLES: tuple[Sample, ...] = (
    Sample("01-en-delivery-terms.eml", "INBOX", "Europe/London",
           "client question left unanswered: overdue", business_days_ago=3, at="12:20"),
    Sample("02-ru-price-request.eml", "INBOX", "Europe/Moscow",
           "price question; greeting by name and patronymic", flags=(), hours_ago=2),
    Sample("03-ro-cerere-oferta.eml", "INBOX", "Europe/Chisinau",
           "our reply promises the offer by Friday", flags=("\\Seen", "\\Answered"),
           business_days_ago=3, at="09:40"),
    Sample("04-ro-raspuns-promisiune.eml", "Sent", "Europe/Chisinau",
           "promise: 'Vă trimit oferta până vineri'", business_days_ago=2, at="15:10"),
    Sample("05-es-plazo-entrega.eml", "INBOX", "Europe/Madrid",
           "client's own date: 'a más tardar el viernes de la próxima semana'", business_days_ago=2, at="13:30"),
    Sample("06-en-quote-q2291.eml", "Sent", "Europe/Chisinau",
           "our quotation", business_days_ago=5, at="14:00"),
    Sample("07-en-price-pushback.eml", "INBOX", "Europe/London",
           "warning signs: 'why so expensive', 'for the same money'",
           business_days_ago=1, at="19:45"),
    Sample("08-en-outlook-agreement.eml", "Sent", "Europe/Chisinau",
           "sent from Outlook with Thread-Index", business_days_ago=5, at="10:00"),
    Sample("09-en-outlook-reply.eml", "INBOX", "Europe/Prague",
           "Outlook reply: no References, joined by Thread-Index", business_days_ago=1,
           at="10:15"),
    Sample("10-en-price-list.eml", "Sent", "Europe/Chisinau",
           "our price list", business_days_ago=2, at="11:00"),
    Sample("11-en-out-of-office.eml", "INBOX", "Europe/London",
           "out-of-office auto-reply: needs no answer", business_days_ago=2, at="11:01"),
    Sample("12-en-newsletter.eml", "INBOX", "Europe/London",
           "newsletter (List-Id): needs no answer", flags=(), business_days_ago=1, at="09:00"),
    Sample("13-en-offer-library.eml", "Sent", "Europe/Chisinau",
           "our offer", business_days_ago=4, at="16:20"),
    Sample("14-en-polite-refusal.eml", "INBOX", "Europe/London",
           "client declines politely: still owed a courteous reply", hours_ago=3),
)  # fmt: skip


# -- the embedded IMAP server -------------------------------------------------------------------


def sample_bytes(name: str) -> bytes:
    """A sample .eml as shipped inside the package (works from a wheel, too)."""
    return resources.files("mailwatch.demo.data").joinpath(name).read_bytes()


def business_day_before(day: date, count: int) -> date:
    """``count`` Mon-Fri days before ``day``: sample mail is written on working days."""
    while count > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def sample_date(sample: Sample, now: datetime, tz: ZoneInfo) -> datetime:
    """When the sample was written, in the sender's zone; never in the future."""
    if sample.hours_ago:
        when = now - timedelta(hours=sample.hours_ago)
    else:
        day = business_day_before(now.astimezone(tz).date(), sample.business_days_ago)
        when = datetime.combine(day, time.fromisoformat(sample.at), tzinfo=tz)
    when = min(when, now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    return when.astimezone(ZoneInfo(sample.zone))


_DATE_LINE = re.compile(rb"^date:", re.IGNORECASE)


def with_date(raw: bytes, when: datetime) -> bytes:
    """The message with CRLF line ends (as IMAP wants) and its Date header set to ``when``."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, sep, body = raw.partition(b"\r\n\r\n")
    stamp = b"Date: " + email.utils.format_datetime(when).encode("ascii")
    lines: list[bytes] = []
    replaced = skipping = False
    for line in head.split(b"\r\n"):
        if skipping and line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the old Date
        skipping = False
        if not replaced and _DATE_LINE.match(line):
            lines.append(stamp)
            replaced = skipping = True
            continue
        lines.append(line)
    if not replaced:
        lines.append(stamp)
    return b"\r\n".join(lines) + (sep or b"\r\n\r\n") + body


def load_samples(
    host: str, port: int, username: str, password: str, now: datetime, tz: ZoneInfo
) -> int:
    """APPEND the samples over IMAP (the path real mail takes in), oldest first per folder."""
    dated = sorted(
        ((sample_date(s, now, tz), s) for s in SAMPLES),
        key=lambda pair: (pair[1].folder, pair[0]),
    )
    with IMAPClient(host, port=port, ssl=False, timeout=15) as client:
        client.login(username, password)
        existing = {name for _flags, _delim, name in client.list_folders()}
        for folder in EXTRA_FOLDERS:
            if folder not in existing:
                client.create_folder(folder)
        for when, sample in dated:
            client.append(
                sample.folder,
                with_date(sample_bytes(sample.file), when),
                flags=sample.flags,
                msg_time=when,
            )
    return len(dated)


def sample_notes() -> dict[str, str]:
    """Message-ID -> what that sample shows, to label the conversations in the table."""
    notes: dict[str, str] = {}
    for sample in SAMPLES:
        notes[parse_message(sample_bytes(sample.file)).message_id] = sample.note
    return notes
