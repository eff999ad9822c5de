"""Does an inbound message need a reply from us?

Every verdict carries a one-line ``reason`` because the digest and the thread view must be able
to say *why* a message was judged automatic: the costly mistake is silently ignoring a client.

Order of checks (the first that matches wins), and why:

1. ``OWN``: from one of our own addresses. Our own mail never waits for us.
2. ``BOUNCE``: a delivery report. Checked before auto-replies because bounces often carry
   auto-reply markers too (``Auto-Submitted``, ``Return-Path: <>``) and "bounce" is more useful;
   and before internal mail because our own server's reports come from our own domain
   (``MicrosoftExchange329e71ec...@ourco.com``, ``postmaster@ourco.com``).
3. ``INTERNAL``: from a colleague (sender domain in ``internal_domains`` or a subdomain of one).
   Colleagues are not clients; even a colleague's out-of-office is simply internal. Except our
   own web site's contact form (``wordpress@ourco.com``) relaying a visitor in ``Reply-To``:
   that visitor is a client waiting for an answer.
4. ``AUTO_REPLY``: RFC 3834 ``Auto-Submitted`` other than ``no``, ``X-Autoreply`` /
   ``X-Autorespond``, ``Precedence: auto_reply``, ``Return-Path: <>``, Exchange's
   ``X-MS-Exchange-Inbox-Rules-Loop``, read receipts, and out-of-office subjects (en/ru/ro/es).
5. ``SPAM``: ``X-Spam-Flag: YES``, ``X-Spam-Status: Yes``, ``X-MS-Exchange-Organization-SCL`` >= 5.
6. ``BULK``: ``Precedence`` bulk/list/junk, ``List-Id``, ``List-Unsubscribe``, ``List-Post``.
7. ``NO_REPLY``: a no-reply / notifications sender (see :func:`no_reply_local_part`), or no sender.
8. ``CLIENT``: everything else needs a reply, including a client's refusal.

Deliberately *not* signals:

* ``X-Auto-Response-Suppress``: Outlook puts it on ordinary mail; it asks *others* not to
  auto-reply and says nothing about who wrote this message.
* ``X-MS-Exchange-Generated-Message-Source`` alone: an Office 365 forwarding rule adds it to a
  client's message it forwards.
* Automation markers that trace back to *our own* mailbox rules: when
  ``X-MS-Exchange-Inbox-Rules-Loop`` names one of our addresses (or an internal domain), the
  message was forwarded to this inbox by our own rule, so that header, ``Auto-Submitted:
  auto-generated`` and a null ``Return-Path`` describe the forwarding, not the client.
* ``Auto-Submitted: no`` explicitly says a person wrote the message, so the indirect auto-reply
  heuristics (null Return-Path, rules-loop header, out-of-office subject) are not applied.

A no-reply ``From`` with a personal ``Reply-To`` (a web contact form) is a client: the person in
``Reply-To`` is waiting for an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mailwatch.core.autosend import spam_reason
from mailwatch.core.intent import Intent, classify_intent
from mailwatch.core.message import Address, ParsedMessage

__all__ = [
    "Category",
    "Verdict",
    "bounce_local_part",
    "classify_inbound",
    "is_automatic_recipient",
    "is_internal_domain",
    "no_reply_local_part",
]


class Category(StrEnum):
    CLIENT = "client"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    NO_REPLY = "no_reply"
    INTERNAL = "internal"
    OWN = "own"
    SPAM = "spam"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The needs-reply decision with a human-readable reason, shown per thread."""

    needs_reply: bool
    category: Category
    reason: str


# --- sender local parts -------------------------------------------------------------------------

_SEP = r"[._+\-]"
# No-reply local parts, matched as whole separator-delimited words so that e.g. "juno-reply"
# does not count. Matched (case-insensitive, "." "_" "-" "+" as separators, digits may follow):
#   noreply, no-reply, no_reply, no.reply, donotreply, do-not-reply, do_not_reply, do.not.reply,
#   dontreply, dont-reply, noanswer, no-answer, donotanswer, do-not-answer,
#   notification, notifications, notify, notifier.
_NO_REPLY_RE = re.compile(
    rf"(?:^|{_SEP})"
    r"(?P<word>no[._\-]?reply|do[._\-]?not[._\-]?reply|dont[._\-]?reply"
    r"|no[._\-]?answer|do[._\-]?not[._\-]?answer"
    r"|notifications?|notify|notifier)"
    rf"(?:$|{_SEP}|\d)",
    re.IGNORECASE,
)
# Bounce senders: MAILER-DAEMON, postmaster, Exchange's system mailbox, VERP bounce addresses.
_BOUNCE_LOCAL_RE = re.compile(
    r"^(?:mailer[._\-]?daemon|postmaster|microsoftexchange[0-9a-f]{32}"
    r"|bounces?(?:[+\-=].*)?|mail[._\-]?delivery[._\-]?(?:subsystem|system))$",
    re.IGNORECASE,
)


def no_reply_local_part(email: str) -> str | None:
    """The no-reply word in the address's local part, if any (so the reason can quote it)."""
    local = email.rpartition("@")[0] if "@" in email else email
    m = _NO_REPLY_RE.search(local)
    return m.group("word") if m else None


def bounce_local_part(email: str) -> bool:
    """True for addresses that only ever send delivery reports (never write to them)."""
    local = email.rpartition("@")[0] if "@" in email else email
    return bool(_BOUNCE_LOCAL_RE.match(local))


def _norm_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@.").rstrip(".")


def is_internal_domain(domain: str, internal_domains: frozenset[str]) -> bool:
    """Subdomains count: mail from ``eu.example.com`` is internal when ``example.com`` is."""
    d = _norm_domain(domain)
    if not d:
        return False
    for raw in internal_domains:
        internal = _norm_domain(raw)
        if internal and (d == internal or d.endswith("." + internal)):
            return True
    return False


# --- subjects -----------------------------------------------------------------------------------

# Out-of-office prefixes that are unambiguous wherever the subject starts with them.
_OOO_STRONG = (
    r"automatic\s+reply|auto[\s\-]?reply|autoreply|auto[\s\-]?response|autoresponse"
    r"|automatische\s+antwort"
    r"|автоматический\s+ответ|автоответ"
    r"|r[ăa]spuns\s+automat"
    r"|respuesta\s+autom[áa]tica"
)
# Prefixes that are also ordinary words ("Out of office hours support"): only when followed by
# a separator, an "until"-like word, or the end of the subject.
_OOO_WEAK = (
    r"out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+)?office|on\s+vacation|on\s+holiday"
    r"|нет\s+на\s+месте|вне\s+офиса|в\s+отпуске|отсутствую"
    r"|absent(?:[ăa])?\s+de\s+la\s+birou|[îi]n\s+afara\s+biroului|[îi]n\s+concediu"
    r"|fuera\s+de\s+(?:la\s+)?oficina|ausente\s+de\s+la\s+oficina|de\s+vacaciones"
)
_OOO_TAIL = (
    r"(?=\s*(?:$|[:\-–—()\[\]/|,]|until\b|till\b|from\b|до\b|с\b|p[âa]n[ăa]\b|hasta\b|desde\b))"
)
_OOO_SUBJECT_RE = re.compile(
    rf"^\s*[\[(]?\s*(?:(?:{_OOO_STRONG})\b|(?:{_OOO_WEAK}){_OOO_TAIL})",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"^\s*(?:undeliverable|undelivered\s+mail|delivery\s+status\s+notification"
    r"|delivery\s+(?:has\s+)?failed|delivery\s+failure|mail\s+delivery\s+failed"
    r"|returned\s+mail|failure\s+notice|message\s+not\s+delivered"
    r"|не\s*доставлено|недоставляемое|сообщение\s+не\s+доставлено"
    r"|nelivrabil|mesaj\s+nelivrat|no\s+se\s+puede\s+entregar|no\s+entregado)\b",
    re.IGNORECASE,
)


def _subject_prefix(subject: str, match: re.Match[str]) -> str:
    """The matched subject start with its colon, for a reason such as "'Automatic reply:'"."""
    tail = re.match(r"\s*[\])]?\s*:?", subject[match.end() :])
    end = match.end() + (tail.end() if tail else 0)
    return subject[match.start() : end].strip()


# --- markers ------------------------------------------------------------------------------------


def _marker(markers: Mapping[str, str], name: str) -> str | None:
    value = markers.get(name)
    if value is None:
        return None
    return " ".join(value.split())


def _auto_submitted(markers: Mapping[str, str]) -> str | None:
    """The Auto-Submitted keyword (parameters dropped), lower-case; None when absent."""
    value = _marker(markers, "auto-submitted")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def _flag_set(value: str | None) -> bool:
    """X-Autoreply / X-Autorespond carry "yes" or some text; only explicit negatives unset it."""
    return value is not None and value.strip().lower() not in ("", "no", "false", "0", "off")


def _null_return_path(markers: Mapping[str, str]) -> bool:
    value = _marker(markers, "return-path")
    return value is not None and value.replace(" ", "") == "<>"


def _rules_loop_addresses(markers: Mapping[str, str]) -> list[str]:
    value = _marker(markers, "x-ms-exchange-inbox-rules-loop") or ""
    return [a.strip().strip("<>").lower() for a in re.split(r"[,;\s]+", value) if a.strip()]


def _spam_reason(markers: Mapping[str, str]) -> str | None:
    return spam_reason(markers)


def _bulk_reason(markers: Mapping[str, str]) -> str | None:
    precedence = _marker(markers, "precedence")
    if precedence is not None and precedence.lower() in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    for header, label in (
        ("list-id", "List-Id"),
        ("list-unsubscribe", "List-Unsubscribe"),
        ("list-post", "List-Post"),
    ):
        value = _marker(markers, header)
        if value:
            return f"{label}: {value[:80]}"
    return None


def _report_type(content_type: str) -> str | None:
    """For multipart/report, the report-type parameter ("" when missing); otherwise None."""
    main, _, params = content_type.partition(";")
    if main.strip().lower() != "multipart/report":
        return None
    m = re.search(r"report-type\s*=\s*\"?([\w\-]+)", params, re.IGNORECASE)
    return m.group(1).lower() if m else ""


def _bounce_reason(msg: ParsedMessage, use_subject: bool = True) -> str | None:
    report = _report_type(msg.content_type)
    if report == "delivery-status":
        return "content type multipart/report (delivery-status)"
    if report == "":
        return "content type multipart/report (no report-type: treated as a delivery report)"
    failed = _marker(msg.markers, "x-failed-recipients")
    if failed:
        return f"X-Failed-Recipients: {failed[:80]}"
    if msg.from_addr is not None and bounce_local_part(msg.from_addr.email):
        return f"sender {msg.from_addr.email}"
    m = _BOUNCE_SUBJECT_RE.match(msg.subject) if use_subject else None
    if m:
        return f"subject starts with {_subject_prefix(msg.subject, m)!r}"
    return None


def _auto_reply_reason(msg: ParsedMessage, forwarded_by_us: bool) -> str | None:
    markers = msg.markers
    auto = _auto_submitted(markers)
    for header, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        value = _marker(markers, header)
        if _flag_set(value):
            return f"{label}: {value}"
    if auto is not None and auto != "no" and not (forwarded_by_us and auto == "auto-generated"):
        return f"Auto-Submitted: {_marker(markers, 'auto-submitted')}"
    precedence = _marker(markers, "precedence")
    if precedence is not None and precedence.lower() == "auto_reply":
        return f"Precedence: {precedence}"
    report = _report_type(msg.content_type)
    if report is not None:
        return f"content type multipart/report ({report}): an automatic report"
    if auto == "no":
        return None  # a person says they wrote it; skip the indirect heuristics below
    if not forwarded_by_us:
        loop = _marker(markers, "x-ms-exchange-inbox-rules-loop")
        if loop:
            return f"X-MS-Exchange-Inbox-Rules-Loop: {loop} (sent by a mailbox rule)"
        if _null_return_path(markers):
            return "Return-Path: <> (null sender, used by automatic mail)"
    m = _OOO_SUBJECT_RE.match(msg.subject)
    if m:
        return f"subject starts with {_subject_prefix(msg.subject, m)!r}"
    return None


def _forwarded_by_our_rule(
    markers: Mapping[str, str], own: frozenset[str], internal_domains: frozenset[str]
) -> str | None:
    """The address of our mailbox whose rule forwarded this message here, if that is the case."""
    for addr in _rules_loop_addresses(markers):
        if addr in own or is_internal_domain(addr.rpartition("@")[2], internal_domains):
            return addr
    return None


def _personal_reply_to(
    msg: ParsedMessage, own: frozenset[str], internal_domains: frozenset[str]
) -> Address | None:
    for addr in msg.reply_to:
        email = addr.email.lower()
        if (
            "@" in email
            and email not in own
            and not is_internal_domain(addr.domain, internal_domains)
            and no_reply_local_part(email) is None
            and not bounce_local_part(email)
        ):
            return addr
    return None


def classify_inbound(
    msg: ParsedMessage, own_addresses: frozenset[str], internal_domains: frozenset[str]
) -> Verdict:
    """Decide whether a person outside the company is waiting for our answer."""
    own = frozenset(a.strip().lower() for a in own_addresses)
    sender = msg.from_addr
    email = sender.email.lower() if sender is not None else ""

    if email and email in own:
        return Verdict(False, Category.OWN, f"sent from our own address {email}")

    internal = bool(email) and is_internal_domain(email.rpartition("@")[2], internal_domains)
    # A colleague's subject may well say "Delivery failed ..."; from our own domain only the
    # report format or a system sender make a bounce.
    bounce = _bounce_reason(msg, use_subject=not internal)
    if bounce is not None:
        return Verdict(False, Category.BOUNCE, bounce)

    if internal:
        web_form = _personal_reply_to(msg, own, internal_domains)
        if web_form is not None:
            return Verdict(
                True,
                Category.CLIENT,
                f"sender {email} (our domain) but Reply-To {web_form.email} (a web form)",
            )
        return Verdict(False, Category.INTERNAL, f"internal sender {email}")

    forwarder = _forwarded_by_our_rule(msg.markers, own, internal_domains)
    auto = _auto_reply_reason(msg, forwarder is not None)
    if auto is not None:
        return Verdict(False, Category.AUTO_REPLY, auto)

    spam = _spam_reason(msg.markers)
    if spam is not None:
        return Verdict(False, Category.SPAM, spam)

    bulk = _bulk_reason(msg.markers)
    if bulk is not None:
        return Verdict(False, Category.BULK, bulk)

    if not email:
        return Verdict(False, Category.NO_REPLY, "no sender address")
    word = no_reply_local_part(email)
    if word is not None:
        reply_to = _personal_reply_to(msg, own, internal_domains)
        if reply_to is None:
            return Verdict(False, Category.NO_REPLY, f"sender {email}")
        return Verdict(
            True, Category.CLIENT, f"sender {email} but Reply-To {reply_to.email} (a contact form)"
        )

    notes: list[str] = []
    if forwarder is not None:
        notes.append(
            f"forwarded here by our mailbox rule (X-MS-Exchange-Inbox-Rules-Loop: {forwarder})"
        )
    if _auto_submitted(msg.markers) == "no":
        notes.append("Auto-Submitted: no (written by a person)")
    reason = f"from client {email}"
    if notes:
        reason += "; " + "; ".join(notes)
    if not msg.new_text.strip():  # older mail classified from its headers only
        return Verdict(True, Category.CLIENT, reason)
    intent = classify_intent(msg.new_text)
    if intent.intent is Intent.THANKS_ONLY:
        return Verdict(False, Category.CLIENT, f"{reason}; thanks only ({intent.evidence})")
    # the intent, with its evidence, shows in the thread's reason and picks the draft kind
    return Verdict(True, Category.CLIENT, f"{reason}; {intent.intent.value}: {intent.evidence}")


def is_automatic_recipient(addr: Address, markers: Mapping[str, str]) -> str | None:
    """Why we must never auto-send to ``addr`` (None when it is fine).

    ``markers`` are those of the message ``addr`` comes from. RFC 3834: never answer automatic
    mail automatically, never write to lists, no-reply or bounce addresses; and never confirm a
    spammer's address. ``X-Auto-Response-Suppress`` is not used (Outlook sets it on ordinary mail).
    """
    email = addr.email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        return f"not a usable address {addr.email!r}"
    if bounce_local_part(email):
        return f"bounce address {email}"
    if no_reply_local_part(email) is not None:
        return f"no-reply address {email}"
    auto = _auto_submitted(markers)
    if auto is not None and auto != "no":
        return f"automatic message (Auto-Submitted: {_marker(markers, 'auto-submitted')})"
    for header, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        value = _marker(markers, header)
        if _flag_set(value):
            return f"automatic message ({label}: {value})"
    precedence = _marker(markers, "precedence")
    if precedence is not None and precedence.lower() == "auto_reply":
        return f"automatic message (Precedence: {precedence})"
    if _null_return_path(markers):
        return "automatic message (Return-Path: <>)"
    if _marker(markers, "x-failed-recipients"):
        return "bounce (X-Failed-Recipients)"
    bulk = _bulk_reason(markers)
    if bulk is not None:
        return f"mailing list or bulk mail ({bulk})"
    spam = _spam_reason(markers)
    if spam is not None:
        return f"flagged as spam ({spam})"
    return None
