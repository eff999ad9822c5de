"""English rules for promises and requested deadlines: dates, commitments, negations.

Patterns are written in folded spelling (lower case, no accents), as the text is matched.
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
    h_eod,
    h_half_hour,
    h_in,
    h_month_end,
    h_named_date,
    h_offset,
    h_time,
    h_week,
    h_weekday,
    num,
)

NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2,
    "a few": 3, "few": 3,
}  # fmt: skip
_IN = h_in(NUMBER_WORDS)

_WD = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
_WD_RE = (
    r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|weds?|"
    r"thu(?:rs?)?|fri)"
)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
)
_NEXT = re.compile(r"\bnext\b|\bfollowing\b|\bafter next\b")

DATES: list[tuple[str, Handler]] = [
    (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", h_offset(2)),
    (r"\b(?:tomorrow|tmrw|tmr)\b", h_offset(1)),
    (r"\b(?:today|tonight|later\s+today|this\s+(?:afternoon|evening))\b", h_offset(0)),
    (
        r"\b(?:(?:next|this|coming|the\s+following)\s+)?" + _WD_RE + r"\b"
        r"(?:\s+(?:of\s+)?(?:next|the\s+following|this)\s+week)?",
        h_weekday(_WD, _NEXT),
    ),
    (
        r"\b(?:next|the\s+following)\s+week\s+(?:on\s+)?" + _WD_RE + r"\b",
        h_weekday(_WD, _NEXT),
    ),
    (
        r"\b(?:(?:the\s+)?(?:end|close)\s+of\s+(?:the\s+)?(?:business\s+|working\s+)?day|eod|cob"
        r"|close\s+of\s+business)\b",
        h_eod,
    ),
    (r"\b(?:early|(?:the\s+)?(?:beginning|start)\s+of)\s+next\s+week\b", h_week(1, start=True)),
    (
        r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+)?(?:next|following)\s+week|next\s+week|the\s+"
        r"following\s+week|the\s+week\s+after)\b(?!\s+on\b)",
        h_week(1),
    ),
    (
        r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week|this\s+week|eow|later\s+this\s+week)"
        r"\b",
        h_week(0),
    ),
    (r"\b(?:the\s+)?end\s+of\s+next\s+month\b", h_month_end(1)),
    (r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month|eom)\b", h_month_end(0)),
    (
        r"\b(?:in|within|in\s+the\s+next)\s+"
        + num(
            r"an?|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|couple\s+of"
            r"|a\s+few|few"
        )
        + r"\s+(?P<biz>business\s+|working\s+|work\s+)?"
        r"(?P<u>days?|weeks?|months?|hours?|hrs?|minutes?|mins?)\b",
        _IN,
    ),
    (r"\b(?:in|within)\s+(?P<n>\d{1,3})\s*(?P<u>h|hrs?|d)\b", _IN),
    (r"\b(?:in|within)\s+half\s+an\s+hour\b", h_half_hour),
    (
        r"\b(?:[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b\.?(?:,?\s+\d{4})?"
        r"|\b" + _MONTH + r"\.?\s+(?:[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+\d{4})?",
        h_named_date,
    ),
    ISO_DATE,
    NUMERIC_DATE,
    (
        r"\b(?:on|by|before|until|till|for)\s+the\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b",
        h_day_of_month,
    ),
    COLON_TIME,
    (r"\b(?P<h>1[0-2]|0?[1-9])(?:[.:](?P<mi>[0-5]\d))?\s*(?P<ap>[ap]\.?m\.?)(?!\w)", h_time),
    (r"\b(?:at|by|before|until|till)\s+(?P<h>[01]?\d|2[0-3])\.(?P<mi>[0-5]\d)\b", h_time),
    (
        r"\b(?:at|by|before|until|till|around)\s+(?P<h>1[0-2]|[1-9])"
        r"(?!\s*(?:[\d:/]|\.\d|st|nd|rd|th|days?|weeks?|hours?|%))\b",
        h_time,
    ),
    (r"\b(?:noon|midday|lunch\s*time|lunch)\b", h_clock(12)),
    (r"\bmorning\b", h_clock(12)),
]  # fmt: skip


# "before Friday" means by the end of Thursday; "by", "until", "до", "până" include the day.
STRICT_BEFORE = re.compile(r"\b(?:before|prior\s+to)\s+(?:the\s+)?$")

# First-person commitments by us.
_SUBJ = (
    r"(?:\bi|\bwe|\bour\s+(?:\w+\s+){0,2}?(?:team|managers?|lawyers?|accountants?|accounting|"
    r"engineers?|colleagues?|department|office|company|specialists?|director|logistics|support|"
    r"staff|people|designers?|developers?|partners?|warehouse|factory))"
)
_AWAY = (
    r"(?!\s+(?:not|never|be\s+(?:out|away|off|on\s+(?:vacation|holiday|leave|a\s+trip|the\s+road|"
    r"a\s+call|site)|in\s+the\s+office|at\s+the\s+office|unavailable|closed|travel\w*|offline|"
    r"absent|back)))"
)

COMMIT: list[str] = [
    _SUBJ
    + r"(?:\s+(?:will|shall)|\s*['’]ll|\s+(?:am|are)\s+going\s+to|\s*['’](?:m|re)\s+going\s+to"
    r"|\s+(?:promise|commit|undertake|guarantee|plan|intend|aim)\s+to)\b" + _AWAY,
    r"\b(?:i|we)\b[^,;]{0,60}?\band\s+(?:will|shall)\b" + _AWAY,
    r"\blet\s+(?:me|us)\s+(?!know\b)(?:get|send|come|revert|follow|check|confirm|prepare|"
    r"circle|update)\b",
    r"\b(?:i['’]m|i\s+am|we['’]re|we\s+are)\s+(?:\w+ly\s+)?(?:sending|preparing|shipping|"
    r"delivering|finali[sz]ing|finishing|drafting|putting\s+together|dispatching)\b",
    r"\byou(?:\s+will|['’]ll|\s+should|\s+can\s+expect\s+to)\s+(?:\w+ly\s+)?"
    r"(?:receive|get|have(?!\s+to\b))\b",
    r"\byou\s+can\s+expect\b|^expect\s+(?:it|them|the|our|my|an?)\b",
    r"^(?:will|shall)\s+(?!you\b|they\b|he\b|she\b|it\b|this\b|that\b|the\b|there\b)\w+",
    r"\b(?:i|we)\s+promise\b",
]

# Negations anywhere in the sentence that take the commitment back.
NEGATION = re.compile(
    r"\b(?:can['’]?t|cannot|can\s+not|won['’]t|will\s+not|shall\s+not|unable|not\s+able|"
    r"not\s+sure|no\s+promises?|not\s+promise|couldn['’]t|could\s+not|don['’]t\s+think|"
    r"do\s+not\s+think|i\s+doubt|unlikely|impossible|not\s+possible|not\s+going\s+to|never)\b"
)

# A negation right in front of the verb.
NEG_BEFORE = re.compile(r"\b(?:not|never)\s+$")

# A promise that depends on the client acting first is not yet ours to keep.
CONDITIONAL = re.compile(r"^(?:if|unless|once|as\s+soon\s+as|in\s+case|when|provided)\b")

# What a client asking something of us writes.
REQUEST = re.compile(
    r"\b(?:could|can|would|will)\s+(?:you|u)\b|\bplease\b|\bpls\b|\bkindly\b|"
    r"\b(?:we|i)\s+(?:really\s+|urgently\s+)?(?:need|require|would\s+like|want|expect)\b|"
    r"\b(?:we|i)['’]d\s+like\b|\bneed(?:ed)?\s+(?:it|them|this|that|the|your)\b|\bdeadline\b|"
    r"\bno\s+later\s+than\b|\bat\s+the\s+latest\b|\b(?:is|would)\s+it\s+(?:be\s+)?possible\b|"
    r"\bmust\b|\brequired\b|\bhas\s+to\b|\bhave\s+to\b"
)
