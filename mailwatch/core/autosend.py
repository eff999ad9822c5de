"""Who may get an automatic reply (AUTO_SEND): pure rules, headers and counts as input.

Automatic mail in the company's name must never be a tool for others: a spoofed sender with a
spam subject must not get an acknowledgment (backscatter), and rotating addresses must not
multiply what goes out. So an automatic reply goes only to

- a correspondent we already wrote to ourselves (not by an automatic reply), or
- mail that passed DMARC, or DKIM / SPF aligned with its From domain, according to an
  ``Authentication-Results`` header (RFC 8601) added by a server we trust
  (``TRUSTED_AUTHSERV_IDS``; any other such header can be forged by the sender),

never to mail that looks like spam, and never more than ``AUTO_SEND_DAILY_CAP`` a day in all.
Everything else waits for a person's approval, with the reason in the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AuthResult",
    "authenticated",
    "auto_send_refusal",
    "parse_authentication_results",
    "spam_reason",
]

SPAM_SCORE = 5.0  # SpamAssassin's default "required" score


@dataclass(frozen=True, slots=True)
class AuthResult:
    authserv_id: str
    method: str  # dmarc | dkim | spf | ...
    result: str  # pass | fail | none | ...
    properties: Mapping[str, str] = field(default_factory=dict)


_COMMENT = re.compile(r"\([^()]*\)")


def parse_authentication_results(values: Iterable[str]) -> list[AuthResult]:
    """Every ``method=result`` of the given ``Authentication-Results`` header values."""
    results: list[AuthResult] = []
    for value in values:
        text = value
        for _ in range(3):  # comments may nest a little
            text = _COMMENT.sub(" ", text)
        parts = [p.strip() for p in text.split(";")]
        if not parts or not parts[0]:
            continue
        authserv_id = parts[0].split()[0].lower()
        for part in parts[1:]:
            tokens = part.split()
            if not tokens or "=" not in tokens[0]:
                continue
            method, _, result = tokens[0].partition("=")
            props: dict[str, str] = {}
            for token in tokens[1:]:
                key, eq, val = token.partition("=")
                if eq:
                    props[key.lower()] = val.strip('"').lower()
            results.append(
                AuthResult(authserv_id, method.split("/")[0].lower(), result.lower(), props)
            )
    return results


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    if not domain or not from_domain:
        return False
    return (
        domain == from_domain
        or from_domain.endswith("." + domain)
        or domain.endswith("." + from_domain)
    ) and "." in domain


def authenticated(
    results: Iterable[AuthResult], from_domain: str, trusted: frozenset[str]
) -> str | None:
    """Why the sender is authenticated (None: it is not), from trusted servers' results only."""
    for r in results:
        if r.authserv_id not in trusted or r.result != "pass":
            continue
        if r.method == "dmarc":
            header_from = r.properties.get("header.from", from_domain)
            if _aligned(header_from, from_domain):
                return f"DMARC pass for {from_domain} ({r.authserv_id})"
        elif r.method == "dkim":
            signer = (
                r.properties.get("header.d") or r.properties.get("header.i", "").rpartition("@")[2]
            )
            if _aligned(signer, from_domain):
                return f"DKIM pass for {signer} ({r.authserv_id})"
        elif r.method == "spf":
            mailfrom = r.properties.get("smtp.mailfrom", "").rpartition("@")[2]
            if _aligned(mailfrom, from_domain):
                return f"SPF pass for {mailfrom} ({r.authserv_id})"
    return None


def _number(value: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", value)
    return float(match.group()) if match else None


def spam_reason(markers: Mapping[str, str]) -> str | None:
    """Why a message looks like spam, from the filters' headers (None: it does not)."""
    get = {k.lower(): v for k, v in markers.items()}.get
    flag = get("x-spam-flag") or get("x-spam")
    if flag is not None and flag.strip().lower().startswith(("yes", "true")):
        return f"X-Spam-Flag: {flag.strip()[:20]}"
    status = get("x-spam-status")
    if status is not None:
        if status.strip().lower().startswith("yes"):
            return f"X-Spam-Status: {status.strip()[:40]}"
        score = re.search(r"score=(-?\d+(?:\.\d+)?)", status)
        if score and float(score.group(1)) >= SPAM_SCORE:
            return f"X-Spam-Status score {score.group(1)}"
    raw_score = get("x-spam-score")
    if raw_score is not None:
        score_value = _number(raw_score)
        if score_value is not None and score_value >= SPAM_SCORE:
            return f"X-Spam-Score: {score_value:g}"
    level = get("x-spam-level")
    if level is not None and level.strip().count("*") >= SPAM_SCORE:
        return f"X-Spam-Level: {level.strip()[:20]}"
    scl = get("x-ms-exchange-organization-scl")
    if scl is not None:
        scl_value = _number(scl)
        if scl_value is not None and scl_value >= 5:
            return f"X-MS-Exchange-Organization-SCL: {scl_value:g}"
    return None


def auto_send_refusal(
    *,
    markers: Mapping[str, str],
    sender_email: str,
    known_correspondent: bool,
    trusted_authserv_ids: frozenset[str],
    sent_last_day: int,
    daily_cap: int,
) -> str | None:
    """Why this reply must wait for a person instead of going out automatically (None: it may
    go). ``markers`` are the answered message's headers, lower-case names."""
    spam = spam_reason(markers)
    if spam is not None:
        return f"the message looks like spam ({spam})"
    if sent_last_day >= daily_cap:
        return f"the daily cap of {daily_cap} automatic sends (AUTO_SEND_DAILY_CAP) is reached"
    if known_correspondent:
        return None
    domain = sender_email.rpartition("@")[2]
    values = [v for v in markers.get("authentication-results", "").split("\x1e") if v.strip()]
    why = authenticated(parse_authentication_results(values), domain, trusted_authserv_ids)
    if why is not None:
        return None
    trusted = ", ".join(sorted(trusted_authserv_ids)) or "none configured"
    return (
        f"{sender_email} was never written to by us and is not authenticated (no DMARC, DKIM "
        f"or SPF pass from a trusted server; TRUSTED_AUTHSERV_IDS: {trusted})"
    )
