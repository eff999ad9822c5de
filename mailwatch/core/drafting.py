"""Everything a draft template needs, built from plain values; and the rendered result.

Pure: no database, no network, no clock (``now`` is passed in). The builder takes what the caller
already has (the thread's subject, the counterpart's name and address, the configured signature,
the dates) and returns a frozen :class:`DraftInputs`. :func:`template_context` turns it into the
variables a template sees, in the language actually used: the greeting in the proper form for that
language and the dates written the local way (babel), in the mailbox timezone.

Every value taken from incoming mail (name, subject) is cleaned for headers here and is only ever
*data* for a template; rendering never evaluates it as template code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton, format_time

from mailwatch.core.address import (
    GenderEvidence,
    detect_register,
    gender_from_our_greetings,
    gender_from_text,
    resolve_gender,
)
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.headers import header_safe, reply_subject
from mailwatch.core.names import addressee
from mailwatch.core.text import LANGUAGES, fold, fold_words

__all__ = [
    "BABEL_LOCALES",
    "DEFAULT_LANGUAGE",
    "DRAFT_KINDS",
    "DRAFT_LANGUAGES",
    "SIGN_OFFS",
    "About",
    "DraftInputError",
    "DraftInputs",
    "Gender",
    "RenderedDraft",
    "When",
    "answer_by",
    "build_draft_inputs",
    "differs_from_ours",
    "draft_subject",
    "first_surname",
    "format_when",
    "greeting_line",
    "infer_gender",
    "normalize_language",
    "offset_of_domain",
    "sign_off",
    "template_context",
    "utc_offset_text",
]

DRAFT_KINDS: tuple[str, ...] = (
    "acknowledgment",
    "decline",
    "renegotiation",
    "follow_up",
    "closing",
    "clarify",
)
DRAFT_LANGUAGES: tuple[str, ...] = LANGUAGES  # drafts are written in each language we read
DEFAULT_LANGUAGE = "en"

Gender = Literal["f", "m"]
About = Literal["proposal", "question"]
When = date | datetime  # a datetime carries a time of day; a date does not


class DraftInputError(ValueError):
    """The values given cannot make a draft of this kind (``str()`` says which and why)."""


@dataclass(frozen=True, slots=True)
class DraftInputs:
    """What a draft is made of, before any language-specific wording.

    ``language`` is the one asked for (from the client's message); the renderer may fall back to
    English when there is no template for it. Names and subjects are already header-safe.
    """

    kind: str
    language: str
    to_email: str
    to_display_name: str
    full_name: str | None  # the counterpart's name as parsed; None for companies and roles
    greeting_name: str | None  # e.g. "Виктор Семенович", "Maria"; None: greet neutrally
    name_confident: bool
    surname: str | None
    gender: Gender | None  # only when known for sure (a title, a patronymic, or given)
    original_subject: str
    original_date: When | None  # the message this draft answers (or follows up on)
    reply_by: When | None  # acknowledgment: when the full answer will come (ours)
    old_date: When | None  # renegotiation: the date we promised
    new_date: When | None  # renegotiation: the date proposed now
    about: About | None  # follow_up: what we wait for an answer on
    reason: str  # optional short reason (decline, renegotiation), one line
    sender_name: str
    signature_lines: tuple[str, ...]
    timezone: str
    now: datetime | None  # the moment of drafting (dates in the same year omit the year)
    client_deadline: When | None = None  # the client's own date ("we need it by 30 April")
    promised_on: When | None = None  # renegotiation: when we made the promise (our message)
    show_zone: bool = False  # the client is in another time zone: times carry their offset
    register: str = "formal"  # "informal" only when the client wrote ты / tu / tú first
    known_contact: bool = False  # we have written to this person before
    gender_source: str = "none"  # where ``gender`` comes from (address.GenderEvidence.source)
    gender_evidence: str = ""
    greeting_name_used: bool = True  # False: the proper form here cannot carry the name
    neutral_reason: str = ""  # why the greeting is neutral though a name is known

    @property
    def late(self) -> bool:
        """A renegotiation written at or after the promised time: it apologises, never claims
        to be early."""
        if self.old_date is None or self.now is None:
            return False
        zone = _zone(self.timezone)
        return _as_instant(self.now, zone) >= _as_instant(self.old_date, zone)


@dataclass(frozen=True, slots=True)
class RenderedDraft:
    """A draft ready for approval. ``body_html`` is None when there is no HTML template."""

    kind: str
    language: str  # the language the draft is written in
    requested_language: str
    subject: str
    body_text: str
    body_html: str | None
    fallback_note: str | None  # set when ``language`` differs from ``requested_language``
    is_reply: bool  # the subject is "Re: " + the conversation's subject
    addressee_name: str | None  # whom the greeting should name (full name), None if unknown
    signature_lines: tuple[str, ...]
    templates: tuple[str, ...] = ()  # the template files used, for messages and debugging
    neutral_reason: str = ""  # a known name left out of the greeting on purpose, and why
    greeting: str = ""  # the greeting line as rendered


# --- languages, names, gender --------------------------------------------------------------------

_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")


def normalize_language(language: str | None) -> str:
    """ "ru-RU" / "RU" / "ru_RU" -> "ru"; empty or malformed -> "en"."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if _LANGUAGE_RE.match(code) else DEFAULT_LANGUAGE


_MALE_TITLES = fold_words("mr sir señor senor sr don dl dnul domnul г-н господин")
_FEMALE_TITLES = fold_words(
    "mrs ms miss madam sra srta señora senora señorita senorita doña dona dña dna "
    "doamna doamnă domnișoara domnisoara d-na г-жа госпожа"
)
_PATRONYMIC_F = ("овна", "евна", "ична", "инична", "ovna", "evna", "ichna", "inichna")
_PATRONYMIC_M = ("ович", "евич", "ovich", "evich", "yevich")
_PATRONYMIC_M_SHORT = ("ич",)  # Ильич, Кузьмич: Cyrillic only


def _is_patronymic(token: str) -> Gender | None:
    folded = fold(token)
    if len(folded) >= 5 and folded.endswith(_PATRONYMIC_F):
        return "f"
    if len(folded) >= 5 and folded.endswith(_PATRONYMIC_M):
        return "m"
    if len(folded) >= 5 and folded.endswith(_PATRONYMIC_M_SHORT) and re.search("[а-я]", folded):
        return "m"
    return None


def infer_gender(display_name: str | None, full_name: str | None) -> Gender | None:
    """The gender only where the name says it for sure: a title or a Russian patronymic.

    Never guessed from a first name: a wrong "Estimado"/"domnule" is worse than a neutral greeting.
    """
    if display_name:
        words = display_name.replace(",", " ").replace('"', " ").split()
        if words:
            first = fold(words[0]).rstrip(".")
            if first in _MALE_TITLES:
                return "m"
            if first in _FEMALE_TITLES:
                return "f"
    for token in (full_name or "").split():
        found = _is_patronymic(token)
        if found is not None:
            return found
    return None


def _surname(full_name: str | None, greeting_name: str | None) -> str | None:
    if not full_name or not greeting_name:
        return None
    given = {fold(t) for t in greeting_name.split()}
    rest = [t for t in full_name.split() if fold(t) not in given and _is_patronymic(t) is None]
    return " ".join(rest) or None


_PARTICLE_WORDS = frozenset(["de", "del", "la", "las", "los", "y", "i"])


def first_surname(surname: str | None) -> str | None:
    """Spanish usage: the first surname only ("López García" -> "López", "de la Fuente Ruiz" ->
    "de la Fuente")."""
    if not surname:
        return None
    tokens = surname.split()
    out: list[str] = []
    for token in tokens:
        out.append(token)
        if fold(token) not in _PARTICLE_WORDS:
            break
    return " ".join(out) or None


def greeting_line(
    language: str,
    greeting_name: str | None,
    *,
    surname: str | None = None,
    gender: Gender | None = None,
    register: str = "formal",
    known_contact: bool = False,
) -> str:
    """The first line of the draft, in the proper form for ``language``.

    en "Dear John," / "Dear Ms Smith," / "Hello,"; ru "Виктор Семенович, добрый день!" /
    "Добрый день!"; ro "Bună ziua, doamnă Popescu," (a title only with a surname and a known
    gender) / "Bună ziua, Ana," (a client on first-name terms) / "Bună ziua,"; es "Estimada Sra.
    López:" (first contact, first surname only) / "Estimada María:" (ongoing contact) / "Hola,
    María:" (a client writing with tú) / "Buenos días, Alex:" (gender unknown) / "Buenos días:".
    A title never goes with a first name.
    """
    name = greeting_name.strip() if greeting_name else ""
    family = surname.strip() if surname else ""
    if language == "ru":
        return f"{name}, добрый день!" if name else "Добрый день!"
    if language == "ro":
        if register == "informal" and name:
            return f"Bună ziua, {name},"
        if family and gender is not None:
            title = "doamnă" if gender == "f" else "domnule"
            return f"Bună ziua, {title} {family},"
        return "Bună ziua,"
    if language == "es":
        first = first_surname(family) or ""
        if register == "informal" and name:
            return f"Hola, {name}:"
        if gender is not None:
            dear = "Estimada" if gender == "f" else "Estimado"
            title = "Sra." if gender == "f" else "Sr."
            if first and (not known_contact or not name):
                return f"{dear} {title} {first}:"
            if name:
                return f"{dear} {name}:"
        return f"Buenos días, {name}:" if name else "Buenos días:"
    if name:
        return f"Dear {name},"
    if family and gender is not None:
        return f"Dear {'Ms' if gender == 'f' else 'Mr'} {family},"
    return "Hello,"


# --- dates --------------------------------------------------------------------------------------

_AT = {"en": "{date} at {time}", "ru": "{date} в {time}", "ro": "{date}, ora {time}"}
# British English: day before month ("13 March"), the 24-hour clock; it goes with the spelling
# of the templates ("enquiry", "apologise") and reads naturally across Europe.
BABEL_LOCALES = {"en": "en_GB", "ru": "ru", "ro": "ro", "es": "es"}


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DraftInputError(f"unknown timezone {timezone!r}") from None


def _local(value: When, zone: ZoneInfo) -> datetime | date:
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    return value


def format_when(
    value: When | None,
    language: str,
    timezone: str = "UTC",
    now: datetime | None = None,
    *,
    with_time: bool = True,
    show_zone: bool = False,
) -> str:
    """A date (and time, when it has one) written the local way, in ``timezone``.

    "13 марта", "13 March at 15:00", "13 martie, ora 15:00", "13 de marzo a las 15:00"; the
    year is added unless ``now`` is in the same year. A datetime at midnight or 23:59 (it means
    "by the end of that day"), or any value when ``with_time`` is False, is shown as a date only.
    None gives "".
    """
    if value is None:
        return ""
    locale = BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE])
    zone = _zone(timezone)
    local = _local(value, zone)
    day = local.date() if isinstance(local, datetime) else local
    this_year = _local(now, zone).year if now is not None else None
    if this_year == day.year:
        text = format_skeleton("MMMMd", day, locale=locale)
    else:
        text = format_date(day, "long", locale=locale)
    text = text.replace("\u202f", "\u00a0")  # babel's narrow no-break space: not every font has it
    if not with_time or not isinstance(local, datetime):
        return text
    if (local.hour, local.minute) in ((0, 0), (23, 59)):
        return text
    clock = format_time(local, "short", tzinfo=zone, locale=locale).replace("\u202f", "\u00a0")
    if show_zone:
        clock = f"{clock} ({utc_offset_text(local)})"
    if language == "es":
        return f"{text} a la {clock}" if clock.startswith("1:") else f"{text} a las {clock}"
    return _AT.get(language, _AT[DEFAULT_LANGUAGE]).format(date=text, time=clock)


def utc_offset_text(value: datetime) -> str:
    """ "UTC+2", "UTC+5:30", "UTC-3": the offset of an aware datetime, readable in any language."""
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def differs_from_ours(client_offset_minutes: int | None, when: When | None, timezone: str) -> bool:
    """True when the client's UTC offset (from their Date header) is not ours at that moment:
    a time we state must then name its zone."""
    if client_offset_minutes is None or when is None:
        return False
    local = _as_instant(when, _zone(timezone))
    ours = local.utcoffset()
    return ours is None or int(ours.total_seconds() // 60) != client_offset_minutes


def _as_instant(value: When, zone: ZoneInfo) -> datetime:
    local = _local(value, zone)
    if isinstance(local, datetime):
        return local
    return datetime(local.year, local.month, local.day, tzinfo=zone)


# --- our dates --------------------------------------------------------------------------------


def answer_by(
    now: datetime,
    calendar: BusinessCalendar,
    within_days: int = 1,
    client_deadline: datetime | None = None,
) -> datetime:
    """Our "full answer by" in an acknowledgment: the end of the business day ``within_days``
    business days after today (ACK_ANSWER_WITHIN, 1 = end of the next business day), and never
    later than the client's own deadline when that is still ahead.

    The client's date is theirs (often a delivery date); it only ever brings ours forward.
    """
    today = calendar.local(now).date()
    day = calendar.add_business_days(today, within_days)
    ours = calendar.end_of_business_day(day)
    if within_days == 0 and ours <= now:
        ours = calendar.end_of_business_day(calendar.next_business_day(today))
    if client_deadline is not None and now < client_deadline < ours:
        return client_deadline
    return ours


# A country's usual zone, for a client whose Date header we do not have (by their domain).
_COUNTRY_ZONES = {
    "md": "Europe/Chisinau",
    "ro": "Europe/Bucharest",
    "ru": "Europe/Moscow",
    "ua": "Europe/Kyiv",
    "by": "Europe/Minsk",
    "kz": "Asia/Almaty",
    "es": "Europe/Madrid",
    "mx": "America/Mexico_City",
    "ar": "America/Argentina/Buenos_Aires",
    "co": "America/Bogota",
    "cl": "America/Santiago",
    "pe": "America/Lima",
    "uk": "Europe/London",
    "ie": "Europe/Dublin",
    "de": "Europe/Berlin",
    "fr": "Europe/Paris",
    "it": "Europe/Rome",
    "pl": "Europe/Warsaw",
    "nl": "Europe/Amsterdam",
    "be": "Europe/Brussels",
    "at": "Europe/Vienna",
    "cz": "Europe/Prague",
    "tr": "Europe/Istanbul",
    "gr": "Europe/Athens",
    "bg": "Europe/Sofia",
    "pt": "Europe/Lisbon",
    "se": "Europe/Stockholm",
    "fi": "Europe/Helsinki",
    "no": "Europe/Oslo",
    "dk": "Europe/Copenhagen",
    "ch": "Europe/Zurich",
    "hu": "Europe/Budapest",
    "il": "Asia/Jerusalem",
    "ca": "America/Toronto",
    "au": "Australia/Sydney",
    "us": "America/New_York",
}


def offset_of_domain(email: str, when: datetime) -> int | None:
    """The UTC offset (minutes) of the country an address's domain names, at ``when``; None for
    generic domains (.com, .net ...)."""
    tld = email.rpartition(".")[2].lower()
    zone = _COUNTRY_ZONES.get(tld)
    if zone is None:
        return None
    offset = when.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else None


# --- subjects -----------------------------------------------------------------------------------

# Used only when the conversation has no subject at all.
_FALLBACK_SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "acknowledgment": "Your enquiry",
        "decline": "Your enquiry",
        "renegotiation": "New deadline",
        "follow_up": "Following up on our correspondence",
        "closing": "Your enquiry",
        "clarify": "Your enquiry: a few questions",
    },
    "ru": {
        "acknowledgment": "Ваш запрос",
        "decline": "Ваш запрос",
        "renegotiation": "Перенос срока",
        "follow_up": "Уточнение по нашей переписке",
        "closing": "Ваш запрос",
        "clarify": "Уточнение по Вашему запросу",
    },
    "ro": {
        "acknowledgment": "Solicitarea dumneavoastră",
        "decline": "Solicitarea dumneavoastră",
        "renegotiation": "Termen nou",
        "follow_up": "Revenire la corespondența noastră",
        "closing": "Solicitarea dumneavoastră",
        "clarify": "Câteva întrebări despre solicitarea dumneavoastră",
    },
    "es": {
        "acknowledgment": "Su consulta",
        "decline": "Su consulta",
        "renegotiation": "Nuevo plazo",
        "follow_up": "Seguimiento de nuestra correspondencia",
        "closing": "Su consulta",
        "clarify": "Algunas preguntas sobre su consulta",
    },
}


def draft_subject(inputs: DraftInputs, language: str) -> tuple[str, bool]:
    """(subject, is_reply): "Re: " + the conversation's subject, or a plain one if it has none."""
    subject = reply_subject(inputs.original_subject)
    if subject:
        return subject, True
    table = _FALLBACK_SUBJECTS.get(language, _FALLBACK_SUBJECTS[DEFAULT_LANGUAGE])
    return table.get(inputs.kind, table["acknowledgment"]), False


# --- the builder --------------------------------------------------------------------------------


def _signature_lines(signature: str, sender_name: str) -> tuple[str, ...]:
    lines = [header_safe(line, max_length=300) for line in signature.replace("\r", "").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if sender_name and fold(sender_name) not in fold("\n".join(lines)):
        # after a sign-off the signature itself starts with ("С уважением,")
        at = 1 if lines and _SIGN_OFF_RE.match(lines[0].strip()) else 0
        lines.insert(at, sender_name)
    return tuple(lines)


def build_draft_inputs(
    kind: str,
    *,
    language: str | None,
    thread_subject: str | None,
    counterpart_email: str,
    counterpart_name: str | None = None,
    counterpart_signature_text: str | None = None,
    sender_name: str = "",
    signature: str = "",
    timezone: str = "UTC",
    original_date: When | None = None,
    reply_by: When | None = None,
    old_date: When | None = None,
    new_date: When | None = None,
    about: str | None = None,
    reason: str | None = None,
    gender: str | None = None,
    now: datetime | None = None,
    client_deadline: When | None = None,
    promised_on: When | None = None,
    client_offset_minutes: int | None = None,
    our_earlier_texts: Sequence[str] = (),
    gender_lookup: Callable[[str], Gender | None] | None = None,
) -> DraftInputs:
    """Check and gather the values for one draft. Raises :class:`DraftInputError`.

    ``counterpart_name`` is the display name of the client's From, ``counterpart_signature_text``
    the text of their last message (its signature may name them better, its words tell their
    gender and register), ``signature`` the SIGNATURE for this language (lines separated by
    newlines), ``timezone`` the mailbox's IANA name. An acknowledgment needs ``reply_by``; a
    renegotiation needs ``old_date`` and a later ``new_date``; ``about`` (follow_up) is
    "proposal", "question" or None; ``gender`` is "f", "m" or None (then it comes from
    ``our_earlier_texts`` (our Sent mail to this person), a title, a patronymic or the client's
    grammar, and last from ``gender_lookup`` on the first name). ``client_offset_minutes`` is the
    UTC offset of the client's Date header: when it differs from ours, times show their zone.
    """
    if kind not in DRAFT_KINDS:
        raise DraftInputError(f"unknown draft kind {kind!r} (kinds: {', '.join(DRAFT_KINDS)})")
    zone = _zone(timezone)
    if kind == "acknowledgment" and reply_by is None:
        raise DraftInputError("an acknowledgment needs reply_by: when the full answer will come")
    if kind == "renegotiation":
        if old_date is None or new_date is None:
            raise DraftInputError(
                "a renegotiation needs old_date (promised) and new_date (proposed)"
            )
        if _as_instant(new_date, zone) <= _as_instant(old_date, zone):
            raise DraftInputError("new_date must be later than old_date")
    if about not in (None, "proposal", "question"):
        raise DraftInputError(f"about must be 'proposal', 'question' or None, not {about!r}")
    if gender not in (None, "f", "m"):
        raise DraftInputError(f"gender must be 'f', 'm' or None, not {gender!r}")

    lang = normalize_language(language)
    name_language = lang if lang in DRAFT_LANGUAGES else DEFAULT_LANGUAGE
    email = header_safe(counterpart_email, max_length=254).lower()
    display = header_safe(counterpart_name or "", max_length=100)
    who = addressee(display or None, email, counterpart_signature_text, name_language)
    full_name = header_safe(who.full_name, max_length=100) if who.full_name else None
    greeting_name = header_safe(who.greeting_name, max_length=60) if who.greeting_name else None
    surname = _surname(full_name, greeting_name)
    titled = infer_gender(display, None) is not None
    if titled and full_name and len(full_name.split()) == 1:
        surname, greeting_name = (
            full_name,
            None,
        )  # "Sra. López": one word after a title is a surname
    from_name = infer_gender(display, full_name)
    name_evidence = (
        GenderEvidence(from_name, "title" if titled else "patronymic", display or full_name or "")
        if from_name is not None
        else None
    )
    decided = resolve_gender(
        given=cast("Gender | None", gender),
        from_sent=gender_from_our_greetings(our_earlier_texts, surname),
        from_name=name_evidence,
        from_text=gender_from_text(counterpart_signature_text, name_language),
        first_name=greeting_name if name_language != "ru" else None,
        lookup=gender_lookup,
    )
    register = detect_register(counterpart_signature_text, name_language).register
    shown_when = reply_by if kind == "acknowledgment" else new_date
    inputs = DraftInputs(
        kind=kind,
        language=lang,
        to_email=email,
        to_display_name=display,
        full_name=full_name,
        greeting_name=greeting_name,
        name_confident=who.confident,
        surname=surname,
        gender=decided.gender,
        original_subject=header_safe(thread_subject or ""),
        original_date=original_date,
        reply_by=reply_by,
        old_date=old_date,
        new_date=new_date,
        about=cast("About | None", about),
        reason=header_safe(reason or "", max_length=300).rstrip(" .;,"),
        sender_name=header_safe(sender_name, max_length=100),
        signature_lines=_signature_lines(signature, header_safe(sender_name, max_length=100)),
        timezone=timezone,
        now=now,
        client_deadline=client_deadline,
        promised_on=promised_on,
        show_zone=differs_from_ours(client_offset_minutes, shown_when or now, timezone),
        register=register,
        known_contact=bool(our_earlier_texts),
        gender_source=decided.source,
        gender_evidence=decided.evidence,
    )
    return _with_greeting_plan(inputs, name_language)


def _with_greeting_plan(inputs: DraftInputs, language: str) -> DraftInputs:
    """Record whether the proper greeting for ``language`` names the client, and if not, why."""
    line = greeting_line(
        language,
        inputs.greeting_name,
        surname=inputs.surname,
        gender=inputs.gender,
        register=inputs.register,
        known_contact=inputs.known_contact,
    )
    tokens = [fold(t) for t in (inputs.full_name or "").split() if len(t) > 1]
    named = any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", fold(line)) for t in tokens)
    if named or not tokens:
        return replace(inputs, greeting_name_used=True, neutral_reason="")
    if language == "ro":
        why = (
            "Romanian puts a title only before a surname, and the gender is not known"
            if inputs.gender is None
            else "Romanian puts a title only before a surname, and the surname is not known"
        )
    elif language == "ru":
        why = "Russian greets by first name and patronymic, and they are not both known"
    elif language == "es":
        why = "Spanish greets by name with Estimado/Estimada only when the gender is known"
    else:
        why = "the first name is not known"
    return replace(inputs, greeting_name_used=False, neutral_reason=why)


def _has_own_time(inputs: DraftInputs) -> bool:
    """Whether the client's deadline carries a time they gave (not 18:00/23:59/00:00 local)."""
    value = inputs.client_deadline
    if not isinstance(value, datetime):
        return False
    local = _local(value, _zone(inputs.timezone))
    return isinstance(local, datetime) and (local.hour, local.minute) not in (
        (18, 0),
        (23, 59),
        (0, 0),
    )


SIGN_OFFS = {
    "en": "Kind regards,",
    "ru": "С уважением,",
    "ro": "Cu stimă,",
    "es": "Un cordial saludo,",
}
_SIGN_OFF_RE = re.compile(
    r"^(?:kind|best|warm)?\s*regards|^best wishes|^yours|^sincerely|^с уважением|^всего доброго"
    r"|^с наилучшими|^cu stim|^cu respect|^toate cele bune|^(?:un )?(?:cordial )?saludo|^atentamente"
    r"|^reciba un",
    re.IGNORECASE,
)


def sign_off(language: str, signature_lines: Sequence[str]) -> str:
    """The closing line before the signature: the language's own, unless the configured
    signature (SIGNATURE_<LANG>) already starts with one ("С уважением,\nЕлена Русу")."""
    first = next((line.strip() for line in signature_lines if line.strip()), "")
    if first and _SIGN_OFF_RE.match(first):
        return ""
    return SIGN_OFFS.get(language, SIGN_OFFS[DEFAULT_LANGUAGE])


def template_context(inputs: DraftInputs, language: str) -> dict[str, object]:
    """The variables a template gets (documented in docs/templates.md), for ``language``."""
    subject, is_reply = draft_subject(inputs, language)

    def when(value: When | None, with_time: bool = True) -> str:
        return format_when(
            value,
            language,
            inputs.timezone,
            inputs.now,
            with_time=with_time,
            show_zone=inputs.show_zone,
        )

    return {
        "kind": inputs.kind,
        "language": language,
        "greeting": greeting_line(
            language,
            inputs.greeting_name,
            surname=inputs.surname,
            gender=inputs.gender,
            register=inputs.register,
            known_contact=inputs.known_contact,
        ),
        "name": inputs.greeting_name or "",
        "full_name": inputs.full_name or "",
        "surname": inputs.surname or "",
        "gender": inputs.gender or "",
        "to_email": inputs.to_email,
        "subject": subject,
        "is_reply": is_reply,
        "original_subject": inputs.original_subject,
        "original_date": when(inputs.original_date, with_time=False),
        "reply_by": when(inputs.reply_by),
        # the client named a day; the end of our business day we read it as is not theirs to see
        "client_deadline": when(inputs.client_deadline, with_time=_has_own_time(inputs)),
        "old_date": when(inputs.old_date),
        "new_date": when(inputs.new_date),
        "promised_on": when(inputs.promised_on, with_time=False),
        "original_at": inputs.original_date,
        "reply_by_at": inputs.reply_by,
        "client_deadline_at": inputs.client_deadline,
        "old_at": inputs.old_date,
        "new_at": inputs.new_date,
        "now": inputs.now,
        "late": inputs.late,
        "informal": inputs.register == "informal",
        "about": inputs.about or "",
        "reason": inputs.reason,
        "sender_name": inputs.sender_name,
        "sign_off": sign_off(language, inputs.signature_lines),
        "signature_lines": list(inputs.signature_lines),
        "signature": "\n".join(inputs.signature_lines),
        "timezone": inputs.timezone,
    }
