"""How to address the client: their gender (for "doamnă/domnule", "Estimada/Estimado") and the
register they write in (ты/Вы, tu/dumneavoastră, tú/usted), each with the evidence for it.

Pure: the first-name library is passed in as a function (the adapter wraps gender-guesser), so
this module reads no files. The order of the evidence is the order of trust:

1. how *we* addressed this person before (our Sent mail): a person who was "doamnă Popescu"
   last week is still;
2. what the client's own text says: a title in the display name, a Russian patronymic, or
   grammatical forms about themselves ("я хотела", "quedo atenta", "sunt interesată");
3. the first name, looked up in a maintained list of names;
4. nothing: a neutral greeting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from mailwatch.core.text import fold

__all__ = [
    "AMBIGUOUS_FIRST_NAMES",
    "GenderEvidence",
    "Register",
    "RegisterEvidence",
    "detect_register",
    "gender_from_our_greetings",
    "gender_from_text",
    "resolve_gender",
]

Gender = Literal["f", "m"]
Register = Literal["formal", "informal"]

# Short forms a name list gets wrong as often as right ("Alex", "Sasha", "Andrea"): never guessed.
AMBIGUOUS_FIRST_NAMES = frozenset(
    [
        "alex",
        "sasha",
        "саша",
        "женя",
        "zhenya",
        "valery",
        "валя",
        "val",
        "sam",
        "chris",
        "kim",
        "andrea",
        "nikola",
        "jean",
        "dominique",
        "eugen",
        "ionela-ion",
        "ariel",
        "robin",
        "jordan",
    ]
)


@dataclass(frozen=True, slots=True)
class GenderEvidence:
    gender: Gender | None
    source: str  # "sent" | "title" | "patronymic" | "text" | "name list" | "given" | "none"
    evidence: str  # the words that decided it, for the user


@dataclass(frozen=True, slots=True)
class RegisterEvidence:
    register: Register
    evidence: str


# --- 1. our own earlier greetings ---------------------------------------------------------------

_OUR_GREETING_F = re.compile(
    r"\b(?:doamna|stimata|estimada|sra|senora|уважаемая|госпожа|ms|mrs|miss|madam|dear\s+madam)\b"
)
_OUR_GREETING_M = re.compile(
    r"\b(?:domnule|domnul|stimate|estimado|sr|senor|уважаемый|господин|mr|sir|dear\s+sir)\b"
)


def gender_from_our_greetings(texts: Iterable[str], surname: str | None = None) -> GenderEvidence:
    """The gender our earlier mail to this person used in its greeting line, if it is consistent.

    Only the first non-empty line of each text counts (the greeting); with ``surname`` known,
    a greeting naming someone else is skipped.
    """
    found: set[Gender] = set()
    evidence = ""
    for text in texts:
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        if not line or len(line) > 80:
            continue
        folded = fold(line).replace(".", " ")
        other_person = bool(re.search(r"\b(?:doamna|domnule|sra|sr|ms|mrs|mr)\s+\w", folded))
        if surname and fold(surname) not in folded and other_person:
            continue  # the greeting names someone else
        f = bool(_OUR_GREETING_F.search(folded))
        m = bool(_OUR_GREETING_M.search(folded))
        if f != m:
            found.add("f" if f else "m")
            evidence = evidence or line
    if len(found) == 1:
        return GenderEvidence(found.pop(), "sent", f'we wrote "{evidence}" before')
    return GenderEvidence(None, "none", "")


# --- 2. the client's own words ------------------------------------------------------------------

_SELF_F: dict[str, tuple[str, ...]] = {
    "ru": (
        r"\b(?:буду|была бы|очень)\s+(?:вам\s+)?(?:благодарна|признательна)\b",
        r"\bя\s+(?:бы\s+|уже\s+|не\s+|вчера\s+|сегодня\s+|только\s+что\s+)?"
        r"(?:хотела|написала|получила|отправила|звонила|смотрела|посмотрела|ознакомилась|"
        r"просила|уточнила|забыла|поняла|нашла|видела|узнала|говорила|обсудила|передала)\b",
        r"\bя\s+(?:очень\s+)?(?:рада|готова|уверена|вынуждена|согласна|заинтересована)\b",
    ),
    "ro": (
        r"\b(?:sunt|am fost|as fi|aș fi|ar fi|suntem)\s+(?:foarte\s+|tare\s+)?"
        r"(?:interesata|bucuroasa|recunoscatoare|sigura|nevoita|convinsa|obligata|multumita)\b",
    ),
    "es": (
        r"\b(?:quedo|estoy|estaria|estare|quedamos|muy)\s+(?:muy\s+)?"
        r"(?:atenta|interesada|encantada|agradecida|segura|obligada|pendienta)\b",
        r"^\s*(?:atentamente,?\s*)?(?:muy\s+)?agradecida\b",
    ),
}
_SELF_M: dict[str, tuple[str, ...]] = {
    "ru": (
        r"\b(?:буду|был бы|очень)\s+(?:вам\s+)?(?:благодарен|признателен)\b",
        r"\bя\s+(?:бы\s+|уже\s+|не\s+|вчера\s+|сегодня\s+|только\s+что\s+)?"
        r"(?:хотел|написал|получил|отправил|звонил|смотрел|посмотрел|ознакомился|"
        r"просил|уточнил|забыл|понял|нашел|видел|узнал|говорил|обсудил|передал)\b",
        r"\bя\s+(?:очень\s+)?(?:рад|готов|уверен|вынужден|согласен|заинтересован)\b",
    ),
    "ro": (
        r"\b(?:sunt|am fost|as fi|aș fi|ar fi)\s+(?:foarte\s+|tare\s+)?"
        r"(?:interesat|bucuros|recunoscator|sigur|nevoit|convins|obligat|multumit)\b",
    ),
    "es": (
        r"\b(?:quedo|estoy|estaria|estare|muy)\s+(?:muy\s+)?"
        r"(?:atento|interesado|encantado|agradecido|seguro|obligado)\b",
        r"^\s*(?:atentamente,?\s*)?(?:muy\s+)?agradecido\b",
    ),
}
_COMPILED_F = {k: [re.compile(fold(p), re.MULTILINE) for p in v] for k, v in _SELF_F.items()}
_COMPILED_M = {k: [re.compile(fold(p), re.MULTILINE) for p in v] for k, v in _SELF_M.items()}


def gender_from_text(text: str | None, language: str) -> GenderEvidence:
    """The client's gender from how they speak of themselves in their own (new) text."""
    if not text:
        return GenderEvidence(None, "none", "")
    folded = fold(text)
    f = [m.group(0) for p in _COMPILED_F.get(language, []) if (m := p.search(folded))]
    m_ = [m.group(0) for p in _COMPILED_M.get(language, []) if (m := p.search(folded))]
    if f and not m_:
        return GenderEvidence("f", "text", f'the client wrote "{f[0].strip()}"')
    if m_ and not f:
        return GenderEvidence("m", "text", f'the client wrote "{m_[0].strip()}"')
    return GenderEvidence(None, "none", "")


def resolve_gender(
    *,
    given: Gender | None = None,
    from_sent: GenderEvidence | None = None,
    from_name: GenderEvidence | None = None,
    from_text: GenderEvidence | None = None,
    first_name: str | None = None,
    lookup: Callable[[str], Gender | None] | None = None,
) -> GenderEvidence:
    """The first source that speaks, in the order of trust (see the module docstring)."""
    if given is not None:
        return GenderEvidence(given, "given", "set by the user")
    for evidence in (from_sent, from_name, from_text):
        if evidence is not None and evidence.gender is not None:
            return evidence
    if first_name and lookup is not None:
        first = first_name.split()[0]
        if fold(first) not in AMBIGUOUS_FIRST_NAMES:
            guessed = lookup(first)
            if guessed is not None:
                return GenderEvidence(guessed, "name list", f"{first} is a {_WORD[guessed]} name")
    return GenderEvidence(None, "none", "")


_WORD = {"f": "woman's", "m": "man's"}


# --- register -------------------------------------------------------------------------------------

_INFORMAL: dict[str, str] = {
    "ru": r"\b(?:ты|тебя|тебе|тобой|твой|твоя|твое|твои|твоего|скинь|пришли|напиши|глянь|"
    r"посмотри|подскажи|сможешь|можешь|знаешь|привет)\b",
    "ro": r"\b(?:tu|te rog|poti|ai putea|trimite-mi|spune-mi|iti|ti-am|mersi|salut|buna,|"
    r"esti|ai primit|vrei)\b",
    "es": r"\b(?:tu|puedes|podrias|tienes|enviame|mandame|dime|avisame|sabes|quieres|"
    r"te escribo|te envio|te mando|hola)\b",
}
_FORMAL: dict[str, str] = {
    "ru": r"\b(?:вы|вас|вам|вами|ваш|ваша|ваше|ваши|вашего|вашей|сможете|можете|"
    r"пришлите|подскажите|направьте|здравствуйте)\b",
    "ro": r"\b(?:dumneavoastra|dvs|va rog|puteti|ati putea|va multumesc|v-am|trimiteti|"
    r"stimate|stimata)\b",
    "es": r"\b(?:usted|ustedes|puede|podria|le agradeceria|les agradeceria|le escribo|"
    r"estimado|estimada|su empresa|envienos|envieme)\b",
}
_INFORMAL_RE = {k: re.compile(fold(v)) for k, v in _INFORMAL.items()}
_FORMAL_RE = {k: re.compile(fold(v)) for k, v in _FORMAL.items()}


def detect_register(text: str | None, language: str) -> RegisterEvidence:
    """ "informal" only when the client used the familiar forms and no polite ones: a reply is
    never more familiar than the client. English has one "you": formal.

    Spanish "hola" alone counts (as "Hola, Elena:"), since a client opening with it and tú
    forms expects tú back.
    """
    if not text or language not in _INFORMAL_RE:
        return RegisterEvidence("formal", "")
    folded = fold(text)
    informal = _INFORMAL_RE[language].findall(folded)
    formal = _FORMAL_RE[language].findall(folded)
    if language == "es":
        # "hola" alone is also used with usted; it takes a tú verb to make it informal
        informal = [w for w in informal if w != "hola"] and informal
    if language == "ro":
        informal = [w for w in informal if w not in ("buna,",)] and informal
    if informal and not formal:
        return RegisterEvidence("informal", f'the client wrote "{informal[0]}"')
    return RegisterEvidence("formal", f'the client wrote "{formal[0]}"' if formal else "")
