"""Romanian rules for promises and requested deadlines: dates, commitments, negations.

Patterns are written in folded spelling (no diacritics).
"""

from __future__ import annotations

import re

from mailwatch.core.promises.dates import (
    COLON_TIME,
    ISO_DATE,
    NUMERIC_DATE,
    Handler,
    h_clock,
    h_day_of_month,
    h_half_hour,
    h_in,
    h_month_end,
    h_named_date,
    h_offset,
    h_time,
    h_today_eod,
    h_week,
    h_weekday,
    num,
)

NUMBER_WORDS: dict[str, int] = {
    "o": 1, "un": 1, "una": 1, "doua": 2, "doi": 2, "trei": 3, "patru": 4, "cinci": 5,
    "sase": 6, "sapte": 7, "opt": 8, "noua": 9, "zece": 10, "cateva": 3, "cativa": 3,
}  # fmt: skip
_IN = h_in(NUMBER_WORDS)

_WD = {
    "luni": 0, "lunea": 0, "marti": 1, "martea": 1, "miercur": 2, "joi": 3, "viner": 4,
    "sambat": 5, "duminic": 6,
}  # fmt: skip
_WD_RE = (
    r"(?P<wd>luni|lunea|marti|martea|miercuri|miercurea|joi|joia|vineri|vinerea|sambata|"
    r"duminica)"
)
_MONTH = (
    r"(?:ianuarie|februarie|martie|aprilie|mai|iunie|iulie|august|septembrie|octombrie|"
    r"noiembrie|decembrie|ian|feb|mar|apr|iun|iul|aug|sept?|oct|noi|dec)"
)
_NEXT = re.compile(r"viitoare|urmatoare|care\s+vine")

DATES: list[tuple[str, Handler]] = [
    (r"\bpoimaine\b", h_offset(2)),
    (r"\bmaine\b", h_offset(1)),
    (r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+(?:acestei\s+)?zilei\b", h_today_eod),
    (r"\b(?:azi|astazi|in\s+cursul\s+zilei(?!\s+de\s+maine)(?:\s+de\s+azi)?)\b", h_offset(0)),
    (
        r"\b(?:in(?:\s+cel\s+mult|\s+maxim(?:um)?)?|peste|in\s+urmatoarele|in\s+decurs\s+de"
        r"|timp\s+de)\s+"
        + num(r"o|un|una|doua|doi|trei|patru|cinci|sase|sapte|opt|noua|zece|cateva|cativa")
        + r"\s+(?:de\s+)?(?P<u>zile|zi|saptamani|saptamana|luni|luna|ore|ora|minute)"
        r"(?P<biz>\s+lucratoare)?\b",
        _IN,
    ),
    (
        r"\bsaptamana\s+(?:viitoare|urmatoare|care\s+vine),?\s+(?:pe\s+|in\s+)?"
        + _WD_RE
        + r"\b",
        h_weekday(_WD, _NEXT),
    ),
    (
        r"\b" + _WD_RE + r"\b(?:\s+(?:viitoare|urmatoare|care\s+vine"
        r"|din\s+saptamana\s+(?:viitoare|urmatoare)))?",
        h_weekday(_WD, _NEXT),
    ),
    (
        r"\b(?:la\s+)?(?:inceputul|debutul)\s+saptamanii\s+(?:viitoare|urmatoare)\b",
        h_week(1, start=True),
    ),
    (
        r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+saptamanii\s+(?:viitoare|urmatoare)\b"
        r"|\b(?:in\s+|pe\s+)?saptamana\s+(?:viitoare|urmatoare|care\s+vine)\b"
        r"(?!,?\s+(?:pe\s+|in\s+)?" + _WD_RE + ")",
        h_week(1),
    ),
    (
        r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+(?:acestei\s+)?saptamanii\b"
        r"|\b(?:in\s+)?saptamana\s+(?:aceasta|asta|curenta)\b",
        h_week(0),
    ),
    (r"\b(?:sfarsitul|finalul)\s+lunii\s+(?:viitoare|urmatoare)\b", h_month_end(1)),
    (r"\b(?:sfarsitul|finalul)\s+(?:acestei\s+)?lunii\b", h_month_end(0)),
    (r"\b(?:in|peste)\s+jumatate\s+de\s+ora\b", h_half_hour),
    (r"\b[0-3]?\d\s+" + _MONTH + r"\b\.?(?:\s+\d{4})?", h_named_date),
    ISO_DATE,
    NUMERIC_DATE,
    (
        r"\b(?:pe|pana\s+pe|pana\s+in|pe\s+data\s+de|in\s+data\s+de)\s+(?P<d>[0-3]?\d)\b"
        r"(?!\s*(?:[:.,]\d|%|ore|ora|zile|de\s+zile))",
        h_day_of_month,
    ),
    COLON_TIME,
    (r"\b(?:la\s+)?ora\s+(?P<h>[01]?\d|2[0-3])(?:[.:](?P<mi>[0-5]\d))?\b", h_time),
    (r"\b(?:la|pana\s+la)\s+(?P<h>[01]?\d|2[0-3])[.](?P<mi>[0-5]\d)\b", h_time),
    (
        r"\b(?:pranz|pranzului|(?<!dupa-)(?<!dupa\s)amiaza|dimineata|in\s+cursul\s+diminetii)\b",
        h_clock(12),
    ),
]  # fmt: skip


# "before Friday" means by the end of Thursday; "by", "until", "до", "până" include the day.
STRICT_BEFORE = re.compile(r"\b(?:inainte\s+de|inaintea)\s+(?:ziua\s+de\s+|data\s+de\s+)?$")

# First-person commitments by us.
_FIRST_PERSON = (
    "trimit|trimitem|transmit|transmitem|expediez|expediem|confirm|confirmam|raspund|raspundem|"
    "scriu|scriem|sun|sunam|anunt|anuntam|pregatesc|pregatim|livrez|livram|dau|dam|comunic|"
    "comunicam|prezint|prezentam|ofer|oferim|furnizez|furnizam|fac|facem|aduc|aducem|revin|"
    "revenim|contactez|contactam|finalizez|finalizam|verific|verificam|semnez|semnam|platesc|"
    "platim|rezolv|rezolvam|actualizez|actualizam|incarc|incarcam|calculez|calculam|organizez|"
    "organizam|ocup|ocupam|transfer|transferam"
)

COMMIT: list[str] = [
    p.replace("{ro1}", _FIRST_PERSON)
    for p in [
        r"\b(?:voi|vom)\s+(?:mai\s+)?(?!fi\b|ati\b|aveti\b|\w*ti\b)\w{2,}",
        r"\b(?:o|am)\s+sa\s+(?:(?:va|iti|ti|te|vi|il|o|le|ii|i|ne|ma|mai)\s+)*"
        r"(?:{ro1})\b",
        r"\b(?:va|iti|ti|te|vi|vi-l|vi-o|vi-le|i-l|i-o|le|ii|il|o)\s+(?:mai\s+)?(?:{ro1})\b",
        r"\b(?:trimit|pregatesc|livrez|expediez|finalizez)\b(?!\s+(?:azi|astazi)\b)",
        r"\bconfirm\b(?!\s+(?:primirea|receptia|receptionarea|ca\s+am\s+primit)\b)",
        r"\b(?:revin|revenim|trimitem|pregatim|livram|expediem|confirmam|transmitem|finalizam"
        r"|ne\s+intoarcem|ma\s+intorc|ma\s+ocup|ne\s+ocupam|ma\s+angajez|ne\s+angajam|promit"
        r"|promitem|garantez|garantam)\b",
        r"\b(?:veti|vei)\s+(?:primi|avea(?!\s+de)|gasi)\b|\bo\s+sa\s+(?:primiti|aveti|primesti)\b",
    ]
]

# Negations anywhere in the sentence that take the commitment back.
NEGATION = re.compile(
    r"\bnu\s+(?:(?:va|iti|ti|te|vi|le|il|o|mai)\s+)*(?:pot|putem|reusesc|reusim|cred|sunt|"
    r"suntem|promit|promitem|garantez|garantam|voi|vom|o\s+sa|am\s+sa|este|e|se\s+poate)\b"
    r"|\b(?:imposibil|putin\s+probabil)\b"
)

# A negation right in front of the verb.
NEG_BEFORE = re.compile(r"\b(?:nu|niciodata\s+nu)\s+(?:(?:va|iti|ti|te|vi|le|il|o|mai)\s+)*$")

# A promise that depends on the client acting first is not yet ours to keep.
CONDITIONAL = re.compile(
    r"^(?:daca|in\s+cazul\s+in\s+care|in\s+caz\s+ca|de\s+indata\s+ce|imediat"
    r"\s+ce|cand)\b"
)

# What a client asking something of us writes.
REQUEST = re.compile(
    r"\b(?:va\s+rog|te\s+rog|rog|avem\s+nevoie|am\s+nevoie|ne\s+trebuie|imi\s+trebuie|puteti|"
    r"ati\s+putea|ai\s+putea|poti|trimiteti\w*|doresc|dorim|termen\w*|cel\s+tarziu|"
    r"necesar\w*|asteptam|este\s+posibil|e\s+posibil|urgent)\b"
)
