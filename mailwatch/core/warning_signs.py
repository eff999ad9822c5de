"""Warning signs of a client who is "not yours", each with the words that show it.

Some clients cost more than they bring: they push on price, demand urgency they do not show
themselves, insist on meetings before anything is decided, nitpick the contract, or have no clear
goal. For them an honest, polite decline is better than a bad deal, so the digest lists these
signs, always with the quoted evidence so the user can judge. The phrase lists are deliberately
narrow: a normal polite client must show nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

from mailwatch.core.prescreen import Probe, Screen, ScreenSet
from mailwatch.core.signs import (
    SignKind,
    WarningSign,
    detect_slow_but_demanding,
    signs_from_json,
    signs_to_json,
    thread_signs,
)
from mailwatch.core.text import LANGUAGES, split_sentences

__all__ = [
    "SignKind",
    "WarningSign",
    "detect_slow_but_demanding",
    "detect_text_signs",
    "signs_from_json",
    "signs_to_json",
    "thread_signs",
]


_LANGS = LANGUAGES
_FLAGS = re.IGNORECASE | re.UNICODE

# Word boundaries that also work next to Cyrillic and accented letters.
_B = r"(?<!\w)"
_E = r"(?!\w)"


def _rx(*alternatives: str) -> re.Pattern[str]:
    pattern = re.compile(_B + "(?:" + "|".join(alternatives) + ")" + _E, _FLAGS)
    _PHRASES[pattern] = alternatives
    return pattern


# The phrases each pattern of _rx was built from (to screen them one by one).
_PHRASES: dict[re.Pattern[str], tuple[str, ...]] = {}


# "Una reunión antes del viernes" is about a date, not about meeting before anything is decided.
_NOT_A_DATE = (
    r"(?!\s+de(?:l|\s+la|\s+el)?\s+(?:lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado"
    r"|domingo|fin|final|mediod[íi]a|las\s+\d|\d))"
)

# --- phrases per kind and language ---------------------------------------------------------------

_PRICE: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"for\s+the\s+same\s+(?:money|price|budget|amount)",
        r"why\s+(?:is\s+it\s+|is\s+this\s+|are\s+you\s+|so\s+)?(?:so\s+)?expensive",
        r"(?:too|very|really|quite|way\s+too)\s+(?:expensive|pricey|costly)",
        r"(?:add|include|throw\s+in)\b[^.!?\n]{0,40}?\bfor\s+free",
        r"(?:(?:give|offer|get|need|want|expect|require|ask\s+for|any|some|a|an|bigger|better"
        r"|extra|additional|further|special)\s+(?:[\w%]+\s+){0,2}discount\w*|discount\w*\s*\?)",
        r"(?:lower|reduce|cut|drop)\s+(?:the\s+|your\s+)?(?:price|prices|rate|rates|cost)",
        r"(?:much\s+|a\s+lot\s+)?cheaper\s+(?:than|elsewhere|offer)",
        r"others?\s+(?:offer|do|charge)\s+(?:it\s+)?(?:for\s+)?(?:less|cheaper)",
    ),
    "ru": _rx(
        r"за\s+те\s+же\s+деньги",
        r"почему\s+(?:так|настолько|столько)\s+дорог\w*",
        r"(?:слишком\s+|очень\s+|довольно\s+|как-то\s+)?дорого",
        r"дороговато",
        r"скидк[уие]\w*",
        r"дешевле",
        r"(?:снизить|снизьте|снизите|уменьшить|уменьшите|подвинуться\s+по)\s+(?:цену|цене|стоимост\w*)",
        r"(?:добав\w+|сдела\w+|включ\w+)[^.!?\n]{0,40}?бесплатно",
    ),
    "ro": _rx(
        r"mai\s+ieftin\w*",
        r"reducer(?:e|i|ea)",
        r"(?:un|o|de|mai\s+mare|vreun)\s+discount\w*",
        r"discount\w*\s*\?",
        r"(?:prea|foarte|cam)\s+scump\w*",
        r"de\s+ce\s+(?:este\s+|e\s+)?(?:așa|asa|atât\s+de|atat\s+de)\s+scump\w*",
        r"(?:la\s+același\s+preț|la\s+acelasi\s+pret|pentru\s+(?:aceiași|aceiasi|aceeași|aceeasi)"
        r"\s+bani)",
        r"(?:adăuga\w*|adauga\w*|include\w*|inclu[dz]\w*)[^.!?\n]{0,40}?(?:gratuit|gratis)",
        r"(?:scădeți|scadeti|reduceți|reduceti|micșorați|micsorati)\s+(?:prețul|pretul)",
    ),
    "es": _rx(
        r"descuentos?",
        r"(?:una|alguna|otra)\s+rebaja",
        r"rebaj(?:ar|en|e|ar[lm]e)\w*",
        r"(?:muy|demasiado|bastante|algo)\s+car[oa]s?",
        r"por\s+qu[ée]\s+(?:es\s+|son\s+)?tan\s+car[oa]s?",
        r"por\s+el\s+mismo\s+(?:precio|dinero)",
        r"m[áa]s\s+barat[oa]s?",
        r"(?:añad\w+|anad\w+|inclu\w+|agreg\w+)[^.!?\n]{0,40}?(?:gratis|sin\s+coste|sin\s+costo)",
        r"(?:bajar|baje|bajen|reducir|reduzcan?)\s+(?:el\s+)?precio",
    ),
}

_URGENCY: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"asap",
        r"urgent(?:ly)?",
        r"immediately(?!\s+(?:after|upon|once|when|following))",
        r"right\s+away",
        r"without\s+(?:fail|delay)",
        r"today\s+without\s+fail",
        r"(?:by|before)\s+(?:the\s+)?end\s+of\s+(?:the\s+)?day\s+today",
        r"no\s+later\s+than\s+(?:today|tonight|this\s+evening)",
        r"top\s+priority",
    ),
    "ru": _rx(
        r"срочн\w*",
        r"немедленно",
        r"сегодня\s+же",
        r"прямо\s+сейчас",
        r"безотлагательно",
        r"в\s+кратчайш\w+\s+срок\w*",
        r"кровь\s+из\s+носу",
    ),
    "ro": _rx(
        r"urgent\w*",
        r"de\s+urgen[țţt][ăa]",
        r"imediat(?!\s+(?:ce|după|dupa))",
        r"c[âa]t\s+mai\s+(?:repede|urgent|cur[âa]nd)",
        r"fără\s+întârziere|fara\s+intarziere",
        r"ne\s*apărat\s+(?:azi|astăzi)|neaparat\s+(?:azi|astazi)",
    ),
    "es": _rx(
        r"urgente\w*",
        r"urgentemente",
        r"inmediatamente(?!\s+(?:después|despues|tras|que|al))",
        r"de\s+inmediato",
        r"cuanto\s+antes",
        r"lo\s+antes\s+posible",
        r"hoy\s+mismo",
        r"sin\s+falta",
    ),
}

_MEETING: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"let'?s\s+meet\s+(?:in\s+person\s+)?first",
        r"(?:need|have|must|want|should)\s+(?:to\s+)?(?:meet|have\s+a\s+meeting|sit\s+down)"
        r"(?:\s+in\s+person)?\s+(?:first|before)",
        r"(?:need|want|insist\s+on|require)\s+(?:a|an\s+in-person|a\s+face-to-face)\s+meeting"
        r"\s+(?:first|before)",
        r"(?:a\s+)?meeting\s+(?:first|before\s+(?:anything|we\s+(?:proceed|continue|decide"
        r"|go\s+any\s+further|discuss)))",
        r"before\s+(?:anything\s+else|we\s+(?:proceed|decide|continue|go\s+any\s+further)),?"
        r"\s+(?:let'?s|we\s+(?:need|must|should|have)\s+to)\s+meet",
        r"not\s+without\s+(?:a\s+)?meeting",
    ),
    "ru": _rx(
        r"давайте\s+(?:сначала\s+|лично\s+)?встретимся",
        r"встретимся",
        r"(?:сначала|вначале|для\s+начала)\s+(?:нужна\s+|нужно\s+|надо\s+)?(?:встреч\w+|встретиться)",
        r"(?:нужна|необходима|обязательна)\s+(?:личная\s+)?встреча",
        r"без\s+(?:личной\s+)?встречи\s+(?:\w+\s+){0,2}(?:не|ничего)",
        r"(?:обсудим|решим)\s+(?:все\s+|всё\s+)?(?:при|на)\s+встрече",
    ),
    "ro": _rx(
        r"s[ăa]\s+ne\s+[îi]nt[âa]lnim",
        r"(?:o\s+)?[îi]nt[âa]lnire\s+(?:mai\s+[îi]nt[âi]i|[îi]nainte)",
        r"mai\s+[îi]nt[âa]i\s+(?:o\s+)?[îi]nt[âa]lnire",
        r"f[ăa]r[ăa]\s+(?:o\s+)?[îi]nt[âa]lnire\s+(?:\w+\s+){0,2}nu",
    ),
    "es": _rx(
        r"reuni[óo]n\s+(?:antes" + _NOT_A_DATE + r"|primero|previa)",
        r"reunirnos\s+(?:antes" + _NOT_A_DATE + r"|primero)",
        r"primero\s+(?:una\s+|tener\s+una\s+)?reuni[óo]n",
        r"(?:tenemos|hay)\s+que\s+reunirnos",
        r"reun[áa]monos",
        r"nos\s+reunimos\s+primero",
        r"sin\s+(?:una\s+)?reuni[óo]n\s+(?:\w+\s+){0,2}(?:no|nada)",
    ),
}

# Contract nitpicking needs a contract term AND a demand to alter it in the same sentence:
# "clause 5 is fine" is normal, "remove the penalty clause" is not.
_CONTRACT_TERMS: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"claus(?:e|es)",
        r"penalt(?:y|ies)",
        r"liabilit(?:y|ies)",
        r"indemnit(?:y|ies)|indemnification",
        r"(?:every|each)\s+(?:paragraph|article|section|word)",
        r"wording",
        r"fine\s+print",
    ),
    "ru": _rx(
        r"пункт\w*\s+(?:[\d.]+\s+)?(?:договора|контракта|соглашения)",
        r"(?:договор|контракт|соглашени)\w*[^.!?\n]{0,40}?пункт\w*",
        r"неустойк\w*",
        r"штраф\w*",
        r"пен[иья]\w*",
        r"ответственност\w*",
        r"формулировк\w*",
        r"каждое\s+слово",
    ),
    "ro": _rx(
        r"clauz\w*",
        r"penalit[ăa][țţt]\w*",
        r"r[ăa]spunder\w*",
        r"articolul\s+\d+\w*",
        r"formul[ăa]r\w*",
    ),
    "es": _rx(
        r"cl[áa]usulas?",
        r"penalizaci[óo]n\w*",
        r"penalidad\w*",
        r"responsabilidad\w*",
        r"indemnizaci[óo]n\w*",
        r"redacci[óo]n",
    ),
}
_CONTRACT_DEMANDS: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"change|amend\w*|modify|remove|delete|strike\s+out|rewrite|reword|revise|increase"
        r"|unacceptable|not\s+acceptable|cannot\s+accept|can'?t\s+accept|won'?t\s+accept"
        r"|insist\w*|demand\w*|we\s+require|must\s+be|will\s+not\s+sign|won'?t\s+sign"
        r"|not\s+sign|disagree\s+with|do\s+not\s+agree|don'?t\s+agree",
    ),
    "ru": _rx(
        r"измен\w+|исправ\w+|убер\w+|убра\w+|удал\w+|переписа\w+|перепиш\w+|передел\w+"
        r"|увелич\w+|неприемлем\w*|не\s+устраива\w+|настаива\w+|требу\w+|не\s+подпиш\w+"
        r"|не\s+соглас\w+|вычеркн\w+|исключ\w+",
    ),
    "ro": _rx(
        r"modific\w*|schimb\w*|elimin\w*|scoate\w*|rescri\w*|inacceptabil\w*|insist\w*"
        r"|cerem|solicit[ăa]m\s+eliminarea|nu\s+semn[ăa]m|nu\s+vom\s+semna"
        r"|nu\s+suntem\s+de\s+acord|majora\w*|m[ăa]rirea|m[ăa]ri[țţt]i",
    ),
    "es": _rx(
        r"cambi\w+|modifi\w+|elimin\w+|quit\w+|reescrib\w+|reformul\w+|inaceptable\w*"
        r"|insist\w+|exigimos|no\s+firmaremos|no\s+vamos\s+a\s+firmar|no\s+estamos\s+de\s+acuerdo"
        r"|aument\w+|duplic\w+",
    ),
}

# A polite request to amend a clause is ordinary negotiation, not nitpicking.
_CONTRACT_SOFTENERS = _rx(
    r"if\s+(?:possible|that\s+works|it\s+works|you\s+agree|that'?s\s+ok(?:ay)?)",
    r"would\s+you\s+mind",
    r"по\s+возможности",
    r"если\s+(?:возможно|это\s+возможно|вы\s+не\s+против)",
    r"dac[ăa]\s+(?:se\s+poate|este\s+posibil|sunte[țţt]i\s+de\s+acord)",
    r"si\s+(?:es\s+posible|les\s+parece\s+bien|est[áa]n\s+de\s+acuerdo)",
)

_NO_GOAL: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"(?:we'?re|we\s+are|i'?m|i\s+am)\s+not\s+(?:really\s+)?sure\s+what\s+(?:we|i)"
        r"\s+(?:need|want|are\s+looking\s+for)",
        r"(?:we|i)\s+(?:don'?t|do\s+not)\s+(?:really\s+|yet\s+|exactly\s+)?know\s+"
        r"(?:exactly\s+)?what\s+(?:we|i)\s+(?:need|want|are\s+looking\s+for)",
        r"just\s+send\s+(?:us\s+|me\s+)?(?:everything|all)\s+(?:you\s+have|you've\s+got|you\s+can)",
        r"send\s+(?:us\s+|me\s+)?everything\s+you\s+have",
        r"(?:we'?ll|we\s+will)\s+(?:see|figure\s+it\s+out|decide)\s+(?:later|along\s+the\s+way)",
        r"no\s+idea\s+what\s+(?:we|i)\s+(?:need|want)",
    ),
    "ru": _rx(
        r"сами\s+(?:пока\s+)?не\s+знаем",
        r"(?:пока\s+)?не\s+знаем,?\s+(?:что|чего)\s+(?:именно\s+)?(?:нам\s+)?(?:нужно|надо|хотим)",
        r"(?:пришлите|присылайте|отправьте|скиньте)\s+(?:нам\s+|мне\s+)?вс[её],?\s+что\s+(?:у\s+вас\s+)?есть",
        r"там\s+(?:видно\s+будет|посмотрим)",
        r"что-нибудь\s+придумайте",
    ),
    "ro": _rx(
        r"nu\s+(?:știm|stim)\s+(?:încă\s+|inca\s+)?exact",
        r"nu\s+(?:știm|stim)\s+(?:încă\s+|inca\s+)?ce\s+(?:ne\s+)?(?:trebuie|vrem|dorim)",
        r"trimite[țţt]i(?:-ne|-mi)?\s+(?:tot|toate)\s+(?:ce|cele)\s+(?:ave[țţt]i|pute[țţt]i)",
        r"vedem\s+pe\s+parcurs",
    ),
    "es": _rx(
        r"no\s+sabemos\s+(?:todavía\s+|todavia\s+|aún\s+|aun\s+)?exactamente",
        r"no\s+sabemos\s+(?:bien\s+)?qu[ée]\s+(?:necesitamos|queremos)",
        r"(?:env[íi]enos|m[áa]ndenos|envíen|manden)\s+todo\s+lo\s+que\s+tengan",
        r"ya\s+veremos",
        r"no\s+tenemos\s+claro\s+qu[ée]",
    ),
}

# Negations just before a phrase ("this is not urgent", "нет скидки", "no es urgente").
_NEGATION_RE = re.compile(
    r"(?:^|\W)(?:not|no|never|nothing|isn'?t|aren'?t|don'?t|doesn'?t|без|не|нет|ни|nu|nici|nada"
    r"|ningún|ninguna|sin)\W+(?:\w+\W+){0,2}$",
    _FLAGS,
)

_MAX_EVIDENCE = 200


def _evidence(sentence: str, match: re.Match[str]) -> str:
    """The sentence that shows the sign, shortened around the phrase when it is long."""
    if len(sentence) <= _MAX_EVIDENCE:
        return sentence
    around = max(0, _MAX_EVIDENCE - 2 - (match.end() - match.start())) // 2
    start = max(0, match.start() - around)
    end = min(len(sentence), match.end() + around)
    # Cut at word boundaries, never inside the phrase itself.
    if start > 0 and " " in sentence[start : match.start()]:
        start = sentence.index(" ", start, match.start()) + 1
    if end < len(sentence) and " " in sentence[match.end() : end]:
        end = sentence.rindex(" ", match.end(), end)
    return (
        ("…" if start else "") + sentence[start:end].strip() + ("…" if end < len(sentence) else "")
    )


def _negated(sentence: str, match: re.Match[str]) -> bool:
    return bool(_NEGATION_RE.search(sentence[: match.start()]))


def _languages(language: str | None) -> tuple[str, ...]:
    """The languages whose phrases to look for; English business words turn up in every one."""
    if language is None or language not in _LANGS:
        return _LANGS
    return (language,) if language == "en" else (language, "en")


def _find(
    patterns: dict[str, re.Pattern[str]], langs: Sequence[str], sentences: Sequence[str]
) -> str | None:
    for sentence in sentences:
        for lang in langs:
            for match in patterns[lang].finditer(sentence):
                if not _negated(sentence, match):
                    return _evidence(sentence, match)
    return None


def _find_contract(langs: Sequence[str], sentences: Sequence[str]) -> str | None:
    for sentence in sentences:
        for lang in langs:
            term = _CONTRACT_TERMS[lang].search(sentence)
            if term is None:
                continue
            if _CONTRACT_SOFTENERS.search(sentence):
                continue
            if any(_CONTRACT_DEMANDS[other].search(sentence) for other in langs):
                return _evidence(sentence, term)
    return None


_PHRASE_KINDS = (
    (SignKind.PRICE_PRESSURE, _PRICE),
    (SignKind.URGENCY, _URGENCY),
    (SignKind.MEETING_PUSH, _MEETING),
    (SignKind.NO_CLEAR_GOAL, _NO_GOAL),
)


# The screens (core.prescreen) are built on first use, not at import: reading some 500
# patterns costs about 70 ms, which a process that never analyses text should not pay.
@cache
def _screens() -> dict[SignKind, dict[str, Screen]]:
    """One screen per kind and language: the contract terms are screened with theirs, the
    other kinds phrase by phrase (:func:`_phrase_screens`)."""
    return {
        kind: {lang: Screen(pattern) for lang, pattern in patterns.items()}
        for kind, patterns in (*_PHRASE_KINDS, (SignKind.CONTRACT_NITPICKING, _CONTRACT_TERMS))
    }


@cache
def _phrase_screens() -> dict[SignKind, dict[str, ScreenSet]]:
    """Each phrase of each kind and language screened on its own."""
    return {
        kind: {
            lang: ScreenSet([Screen(_rx(phrase)) for phrase in _PHRASES[pattern]])
            for lang, pattern in patterns.items()
        }
        for kind, patterns in _PHRASE_KINDS
    }


@cache
def _phrase_set(langs: tuple[str, ...]) -> tuple[ScreenSet, tuple[tuple[SignKind, str, int], ...]]:
    """One screen set for every phrase of every kind in ``langs``, and what each one is."""
    owners = tuple(
        (kind, lang, n)
        for kind, patterns in _PHRASE_KINDS
        for lang in langs
        for n in range(len(_PHRASES[patterns[lang]]))
    )
    screens = [
        screen
        for kind, _patterns in _PHRASE_KINDS
        for lang in langs
        for screen in _phrase_screens()[kind][lang].screens
    ]
    return ScreenSet(screens), owners


def _passing_phrases(probe: Probe, langs: tuple[str, ...]) -> dict[tuple[SignKind, str], list[int]]:
    """Per kind and language, the phrases whose screen lets ``probe`` through."""
    screen_set, owners = _phrase_set(langs)
    found: dict[tuple[SignKind, str], list[int]] = {}
    for index in screen_set.passing(probe):
        kind, lang, n = owners[index]
        found.setdefault((kind, lang), []).append(n)
    return found


@lru_cache(maxsize=256)  # the phrase subsets met lately (a few KB each)
def _some_phrases(pattern: re.Pattern[str], indices: tuple[int, ...]) -> re.Pattern[str]:
    """``pattern`` rebuilt from its phrases ``indices`` only (in their order)."""
    phrases = _PHRASES[pattern]
    if len(indices) == len(phrases):
        return pattern
    return re.compile(_B + "(?:" + "|".join(phrases[i] for i in indices) + ")" + _E, _FLAGS)


def detect_text_signs(
    new_text: str, message_id: str | None, language: str | None = None
) -> list[WarningSign]:
    """Signs in the new (unquoted) text of one client message: at most one per kind.

    ``language`` narrows the phrase lists to that language plus English; None searches all four.
    """
    sentences = split_sentences(new_text)
    if not sentences:
        return []
    langs = _languages(language)
    # Pre-screen: one search per language over all sentences at once. A phrase found in a
    # sentence is found here too (NUL is neither a word character nor a space, so the
    # (?<!\w) / (?!\w) boundaries and the negative look-aheads behave as at a sentence's
    # ends); only a kind that shows up here is looked for sentence by sentence.
    # Before that, a literal screen (core.prescreen) skips the searches that cannot match.
    joined = "\x00".join(sentences)
    probe = Probe(joined)
    signs: list[WarningSign] = []
    passing = _passing_phrases(probe, langs)
    for kind, patterns in _PHRASE_KINDS:
        # Per language, the pattern of only the phrases that can match somewhere (the others
        # cannot match any sentence either): the same matches, in the same order.
        possible = {}
        for lang in langs:
            phrases = passing.get((kind, lang))
            if phrases:
                possible[lang] = _some_phrases(patterns[lang], tuple(phrases))
        if not any(pattern.search(joined) for pattern in possible.values()):
            continue
        evidence = _find(possible, [lang for lang in langs if lang in possible], sentences)
        if evidence is not None:
            signs.append(WarningSign(kind, evidence, message_id))
    contract = None
    terms = _screens()[SignKind.CONTRACT_NITPICKING]
    if any(terms[lang].maybe(probe) and _CONTRACT_TERMS[lang].search(joined) for lang in langs):
        contract = _find_contract(langs, sentences)
    if contract is not None:
        signs.append(WarningSign(SignKind.CONTRACT_NITPICKING, contract, message_id))
    order = list(SignKind)
    signs.sort(key=lambda s: order.index(s.kind))
    return signs
