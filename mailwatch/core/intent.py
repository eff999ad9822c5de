"""What the client's last message wants, in en/ru/ro/es, with the words that show it.

The intent decides the draft: a refusal gets a gracious ``closing``, an unclear request a
``clarify`` (two or three questions), "thanks, received!" needs no reply at all, everything
else an ``acknowledgment`` until the full answer is written. Pure: no I/O.

Rules, not a model: each intent has phrases in the four languages (matched on case- and
accent-folded text, so "Mulțumesc" == "multumesc"), tried in an order where the stronger
signal wins ("thanks, but we went with another supplier" is a refusal, not thanks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache

from mailwatch.core.prescreen import Probe, Screen, ScreenSet
from mailwatch.core.text import fold

__all__ = ["Intent", "IntentVerdict", "classify_intent", "kind_for_intent"]


class Intent(StrEnum):
    REQUEST = "request"  # a quote or information
    TIMING = "timing"  # when will it be ready / where is it
    PRICE_PUSHBACK = "price_pushback"
    REFUSAL = "refusal"
    THANKS_ONLY = "thanks_only"
    COMPLAINT = "complaint"
    MEETING = "meeting"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class IntentVerdict:
    intent: Intent
    evidence: str  # the words that decided it (or why nothing did), for the user

    @property
    def kind(self) -> str | None:
        return kind_for_intent(self.intent)

    @property
    def needs_reply(self) -> bool:
        return self.intent is not Intent.THANKS_ONLY


def kind_for_intent(intent: Intent) -> str | None:
    """The draft kind for an intent; None: no reply is needed."""
    if intent is Intent.THANKS_ONLY:
        return None
    if intent is Intent.REFUSAL:
        return "closing"
    if intent is Intent.UNCLEAR:
        return "clarify"
    return "acknowledgment"


_PATTERNS: dict[Intent, tuple[str, ...]] = {
    Intent.REFUSAL: (
        # en
        r"\bno longer (?:need|require|interested)",
        r"\b(?:don'?t|do not|won'?t|will not) need (?:it|them|this|the \w+) (?:any ?more|after all)",
        r"\bnot interested\b",
        r"\bdecided to (?:stay|stick|remain) with\b",
        r"\b(?:decided|chosen|chose|opted|going|gone|went) (?:to go )?with (?:another|a different|"
        r"a local|an? other|the other) (?:supplier|vendor|company|printer|offer)",
        r"\bwe(?:'ll| will) pass\b",
        r"\b(?:project|order|tender) (?:has been |was |is )?(?:cancell?ed|postponed indefinitely|"
        r"on hold)",
        r"\bwe have decided not to\b",
        # ru
        r"\bуже не (?:нужн|актуальн|требует)",
        r"\bбольше не (?:нужн|актуальн|требует|интересует)",
        r"\bне актуальн",
        r"\bнеактуальн",
        r"\bвыбрали другого (?:поставщика|подрядчика|производителя)",
        r"\bотказываемся\b",
        r"\bне будем (?:заказывать|закупать|брать)",
        r"\bработаем с другим",
        r"\bдоговорились с другим (?:поставщиком|подрядчиком)",
        # ro
        r"\bnu mai (?:avem nevoie|este necesar|e necesar|este de actualitate|e de actualitate|"
        r"ne intereseaza|suntem interesati)",
        r"\bam ales (?:un )?alt(?:ul)? furnizor",
        r"\bam decis sa (?:lucram cu|mergem cu|renuntam)",
        r"\brenuntam\b",
        r"\bproiectul a fost (?:anulat|amanat)",
        # es
        r"\bya no (?:lo |la |los |las )?(?:necesitamos|nos interesa|es necesari)",
        r"\bno nos interesa\b",
        r"\bmantener (?:el|al|a nuestro) proveedor",
        r"\bhemos (?:decidido|optado) (?:trabajar |ir |seguir )?(?:con|por) otro",
        r"\b(?:elegido|escogido) (?:a )?otro proveedor",
        r"\bdescartamos\b",
        r"\b(?:proyecto|pedido) (?:ha sido |fue |queda )?(?:cancelado|anulado|aplazado)",
    ),
    Intent.COMPLAINT: (
        r"\b(?:arrived|came|were|was|is|are) (?:damaged|broken|crushed|torn|wet|defective)",
        r"\b(?:damaged|defective|faulty) (?:goods|boxes|labels|pallets?|items?|parts?)",
        r"\bnot what we ordered\b",
        r"\bwrong (?:colou?r|size|quantity|items?|labels?|print|barcode|text|artwork)",
        r"\b(?:complaint|unacceptable|very disappointed|deeply disappointed)\b",
        r"\bбрак\w*",
        r"\bповрежд\w+",
        r"\bпретензи\w*",
        r"\bнедовольн\w*",
        r"\bне (?:тот|та|те) (?:цвет|размер|товар|тираж)",
        r"\bпришл[аио] (?:мят|порван|сыр)",
        r"\bdeteriorat\w*",
        r"\bdefect\w*",
        r"\breclamati\w*",
        r"\bnemultumi\w*",
        r"\binacceptabil\w*",
        r"\bgresit\w*",
        r"\bdanad[oa]s?\b",
        r"\bdefectuos[oa]s?\b",
        r"\breclamacion\w*",
        r"\bqueja\w*",
        r"\binaceptable\b",
        r"\bequivocad[oa]s?\b",
    ),
    Intent.PRICE_PUSHBACK: (
        r"\btoo (?:expensive|high|pricey|costly)\b",
        r"\bso expensive\b",
        r"\b(?:room|flexibility|margin) (?:on|in|for) (?:the |your )?price",
        r"\babove what we (?:pay|budgeted)",
        r"\b(?:price|prices|quote|offer) (?:is|are|seems?) (?:too |quite |rather |a bit )?"
        r"(?:high|steep|expensive)",
        r"\b(?:better|lower|best) (?:price|offer|rate)\b",
        r"\bdiscount\b",
        r"\bcheaper\b",
        r"\bcompetitor\w*\b",
        r"\bover (?:our|the) budget\b",
        r"\bдорог[оа]\b",
        r"\bдороговат\w*",
        r"\bскидк\w*",
        r"\bдешевле\b",
        r"\bконкурент\w*",
        r"\bцена (?:высок|завыш)\w*",
        r"\bпересмотреть (?:цену|стоимость)",
        r"\bprea scump\w*",
        r"\bprea mare\b",
        r"\breducere\w*",
        r"\bdiscount\b",
        r"\bpret(?:ul)? mai (?:bun|mic)\b",
        r"\bmai ieftin\w*",
        r"\bconcurent\w*",
        r"\bdemasiado caro\b",
        r"\b(?:precio|presupuesto) (?:es |nos parece |resulta )?(?:muy |bastante |algo )?"
        r"(?:alto|elevado|caro)",
        r"\bdescuento\w*",
        r"\bmejor precio\b",
        r"\bmas barat[oa]\b",
        r"\bcompetencia\b",
    ),
    Intent.MEETING: (
        r"\b(?:a |have a |set up a |arrange a |schedule a |quick )(?:call|meeting|video call)\b",
        r"\b(?:meet|visit) (?:you|us|your (?:factory|plant|office))\b",
        r"\bcan we (?:meet|talk|speak)\b",
        r"\bto meet (?:and|up|in person|you)\b",
        r"\b(?:come|drop by) (?:to|at) your (?:office|factory|plant)\b",
        r"\bвстреч\w*",
        r"\bсозвон\w*",
        r"\bприехать к вам\b",
        r"\bподъехать\b",
        r"\bпообщаться по телефону\b",
        r"\bintalnire\b",
        r"\bsa ne (?:intalnim|vedem|auzim)\b",
        r"\bo vizita\b",
        r"\bsa vorbim la telefon\b",
        r"\b(?:una|tener una|organizar una|concertar una) reunion\b",
        r"\b(?:una |breve )llamada\b",
        r"\bvideollamada\b",
        r"\bvisitar(?:les|os)?\b",
        r"\bquedar (?:con ustedes|para hablar)\b",
    ),
    Intent.REQUEST: (
        r"\b(?:send|share|provide|give) (?:me |us )?(?:a |an |your |the )?(?:quote|quotation|offer|"
        r"price|prices|price list|catalogue|catalog|samples?|specs?|details|proposal)",
        r"\b(?:quote|quotation|pricing|price list|prices?) for\b",
        r"\bhow much (?:would|will|does|do|is|are)\b",
        r"\bcould you (?:quote|send|let us know|tell us|confirm|check)\b",
        r"\bplease (?:quote|send|confirm|advise|let us know)\b",
        r"\bwe (?:are looking for|need|require|would like)\b",
        r"\bcan you (?:deliver|do|make|supply|produce|print|quote|ship|confirm)\b",
        r"\b(?:and |also )?need \d",
        r"\b(?:price|cost) (?:of|per)\b",
        r"\bпришлите\b",
        r"\bнаправьте\b",
        r"\bвышлите\b",
        r"\bподготовьте\b",
        r"\bкоммерческое предложение\b",
        r"\bкп\b",
        r"\bпрайс\w*",
        r"\bстоимост\w*",
        r"\bрасчет\w*",
        r"\bсколько (?:будет )?стоит\b",
        r"\bнам (?:нужн|требу)\w*",
        r"\bинтересует (?:цена|стоимость|возможность)",
        r"\bsubscri\w* (?:sample|specification)",
        r"\boferta\b",
        r"\bofert\w+ de pret\b",
        r"\bpret\w*\b",
        r"\bcotati\w*",
        r"\btrimiteti\w*",
        r"\bva rog sa (?:ne|imi) (?:trimiteti|transmiteti|comunicati|spuneti)",
        r"\bavem nevoie de\b",
        r"\bcat (?:costa|ar costa)\b",
        r"\bpresupuesto\b",
        r"\bcotizacion\b",
        r"\bprecios?\b",
        r"\btarifa\w*",
        r"\benvi(?:e|en|ar|arnos|ame|enos)\b",
        r"\bnecesitamos\b",
        r"\bcuanto (?:costaria|cuesta|cuestan|seria)\b",
    ),
    Intent.TIMING: (
        r"\b(?:waiting|still waiting|look forward to (?:it|your)|жду|ждем|ожидаем|astept|asteptam|"
        r"espero|esperamos|aguardo|a la espera)\b",
        r"\bwhen (?:can|will|could|would|do|does|is|are)\b",
        r"\bby when\b",
        r"\bhaven'?t (?:seen|received|got(?:ten)?) (?:anything|it|them|the \w+)",
        r"\b(?:did|has|have) (?:the|my|our|your) \w+ (?:go out|gone out|ship|shipped|left|leave)\b",
        r"\bany (?:news|update)s?\b",
        r"\b(?:status|eta|lead time|delivery time)\b",
        r"\bhow long\b",
        r"\bкогда\b",
        r"\bв какие сроки\b",
        r"\bсроки?\b",
        r"\bкаков статус\b",
        r"\bесть новости\b",
        r"\bcand\b",
        r"\bin ce termen\b",
        r"\btermen\w*",
        r"\bnoutat\w*",
        r"\bcuando\b",
        r"\bplazo\w*",
        r"\bnovedades\b",
        r"\ben que fecha\b",
    ),
}

# one alternation per intent: a message is scanned once per intent, not once per phrase
_COMPILED = {
    intent: re.compile("|".join(f"(?:{p})" for p in ps)) for intent, ps in _PATTERNS.items()
}

_THANKS = re.compile(
    r"\b(?:thanks?|thank you|many thanks|received|got it|noted|спасибо|благодар\w*|"
    r"получил\w*|принято|multumesc|multumim|mersi|am primit|gracias|recibido|recibid[oa]s)\b"
)
# A "thanks only" message says nothing but these (and the client's and our names).
_THANKS_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "you",
        "very",
        "much",
        "many",
        "so",
        "a",
        "lot",
        "received",
        "got",
        "it",
        "all",
        "well",
        "noted",
        "great",
        "perfect",
        "ok",
        "okay",
        "the",
        "email",
        "documents",
        "document",
        "invoice",
        "files",
        "file",
        "samples",
        "sample",
        "again",
        "cheers",
        "hi",
        "hello",
        "dear",
        "elena",
        "спасибо",
        "большое",
        "огромное",
        "благодарю",
        "благодарим",
        "получили",
        "получил",
        "получила",
        "все",
        "всё",
        "принято",
        "отлично",
        "хорошо",
        "добрый",
        "день",
        "здравствуйте",
        "и",
        "вам",
        "multumesc",
        "multumim",
        "mersi",
        "frumos",
        "mult",
        "am",
        "primit",
        "tot",
        "totul",
        "perfect",
        "bine",
        "buna",
        "ziua",
        "si",
        "gracias",
        "muchas",
        "mil",
        "recibido",
        "recibida",
        "recibidos",
        "todo",
        "perfecto",
        "genial",
        "vale",
        "ok",
        "hola",
        "buenos",
        "dias",
        "y",
    ]
)
_UNSPECIFIC = re.compile(
    r"\b(?:interested in (?:your|working)|tell us more|more information|what (?:can|do) you offer|"
    r"your (?:products|services|possibilities)|интересует (?:ваша|ваши|сотрудничество)|"
    r"интересует ваша продукция|расскажите (?:подробнее|о)|что (?:вы )?можете предложить|"
    r"ваши возможности|interesati de (?:produsele|colaborare)|ce ne puteti oferi|"
    r"mai multe (?:informatii|detalii)|ce (?:aveti|oferiti)|interesados en (?:sus|sus productos|"
    r"colaborar)|que nos (?:pueden|podrian) ofrecer|mas informacion)\b"
)
_DIGIT = re.compile(r"\d")
_CLOSING_LINE = re.compile(
    r"^\s*(?:best|kind|warm)?\s*(?:regards|wishes)|^\s*(?:с уважением|всего доброго)|"
    r"^\s*(?:cu stima|cu respect|toate cele bune)|^\s*(?:un )?(?:cordial )?saludos?|"
    r"^\s*atentamente"
)


def _body(text: str) -> str:
    """The message without its sign-off and signature (what follows "Kind regards," ...)."""
    lines = text.splitlines()
    # fold() of ASCII is lower(), one character for one: the lines of the lowered text
    folded = text.lower().splitlines() if text.isascii() else map(fold, lines)
    for i, line in enumerate(folded):
        if i > 0 and _CLOSING_LINE.match(line):
            return "\n".join(lines[:i])
    return "\n".join(lines)


# Each phrase of each intent screened on its own (core.prescreen), all of an intent's at once:
# only the phrases that can match the text are searched for, as one pattern in their order.
# The leftmost match (and, at one place, the first phrase) is the same: the phrases left out
# match nowhere in the text.
_WORD_RE = re.compile(r"\w+")
_THANKS_SCREEN = Screen(_THANKS)
_UNSPECIFIC_SCREEN = Screen(_UNSPECIFIC)


@lru_cache(maxsize=256)  # the phrase subsets met lately (a few KB each)
def _phrases(intent: Intent, indices: tuple[int, ...]) -> re.Pattern[str]:
    """The intent's pattern with only the phrases ``indices`` (``_COMPILED`` with all)."""
    return re.compile("|".join(f"(?:{_PATTERNS[intent][i]})" for i in indices))


# Built on first use, not at import (reading the phrases costs about 30 ms).
@cache
def _phrase_screens() -> dict[Intent, ScreenSet]:
    return {
        intent: ScreenSet([Screen(re.compile(p)) for p in ps]) for intent, ps in _PATTERNS.items()
    }


@cache
def _all_phrases() -> tuple[ScreenSet, tuple[tuple[Intent, int], ...]]:
    """Every phrase of every intent in one screen set (one look-up per message), and whose
    phrase each one is."""
    owners = tuple((intent, n) for intent, ps in _PATTERNS.items() for n in range(len(ps)))
    screens = [s for screen_set in _phrase_screens().values() for s in screen_set.screens]
    return ScreenSet(screens), owners


def _passing(probe: Probe) -> dict[Intent, tuple[int, ...]]:
    """Per intent, the phrases whose screen lets ``probe`` through."""
    screen_set, owners = _all_phrases()
    found: dict[Intent, list[int]] = {}
    for index in screen_set.passing(probe):
        intent, n = owners[index]
        found.setdefault(intent, []).append(n)
    return {intent: tuple(ns) for intent, ns in found.items()}


def _first(intent: Intent, probe: Probe, passing: dict[Intent, tuple[int, ...]]) -> str | None:
    indices = passing.get(intent)
    if not indices:
        return None
    match = _phrases(intent, indices).search(probe.text)
    return match.group(0).strip() if match else None


def classify_intent(text: str | None) -> IntentVerdict:
    """The intent of a client's new text (quoted history already cut off), any of 4 languages."""
    folded = fold(_body(text or ""))
    words = _WORD_RE.findall(folded)
    probe = Probe(folded, words)
    passing = _passing(probe)
    if not words:
        return IntentVerdict(Intent.UNCLEAR, "the message has no text of its own")
    for intent in (Intent.REFUSAL, Intent.COMPLAINT):
        found = _first(intent, probe, passing)
        if found:
            return IntentVerdict(intent, f'"{found}"')
    thanks = _THANKS.search(folded) if _THANKS_SCREEN.maybe(probe) else None
    if thanks and len(words) <= 15:
        names = {fold(w) for w in re.findall(r"\b[A-ZА-ЯЁ]\w*", _body(text or ""))}
        rest = [w for w in words if w not in _THANKS_WORDS and w not in names]
        if not rest and "?" not in folded:
            return IntentVerdict(Intent.THANKS_ONLY, f'only "{thanks.group(0)}"')
    for intent in (Intent.PRICE_PUSHBACK, Intent.MEETING):
        found = _first(intent, probe, passing)
        if found:
            return IntentVerdict(intent, f'"{found}"')
    vague = _UNSPECIFIC.search(folded) if _UNSPECIFIC_SCREEN.maybe(probe) else None
    if vague and not _DIGIT.search(folded):
        return IntentVerdict(Intent.UNCLEAR, f'"{vague.group(0)}" with no quantity or size')
    request = _first(Intent.REQUEST, probe, passing)
    timing = _first(Intent.TIMING, probe, passing)
    if request and not (timing and not _DIGIT.search(folded) and len(words) <= 30):
        return IntentVerdict(Intent.REQUEST, f'"{request}"')
    if timing:
        return IntentVerdict(Intent.TIMING, f'"{timing}"')
    if request:
        return IntentVerdict(Intent.REQUEST, f'"{request}"')
    if _DIGIT.search(folded) or "?" in folded:
        return IntentVerdict(Intent.REQUEST, "figures or a question for us")
    if len(words) <= 4:
        return IntentVerdict(Intent.UNCLEAR, "too short to tell what is wanted")
    return IntentVerdict(Intent.REQUEST, "a message for us to answer")
