"""Spanish rules for promises and requested deadlines: dates, commitments, negations.

Patterns are written in folded spelling (no accents), except the accented future tense.
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
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "un par de": 2, "unos": 3, "unas": 3,
    "unos pocos": 3, "unas pocas": 3,
}  # fmt: skip
_IN = h_in(NUMBER_WORDS)

_WD = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6,
}  # fmt: skip
_WD_RE = r"(?P<wd>lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    r"noviembre|diciembre)"
)
_NEXT_WEEK = (
    r"(?:la\s+semana\s+que\s+viene|la\s+proxima\s+semana|la\s+semana\s+proxima|la"
    r"\s+siguiente\s+semana)"
)
# "el próximo viernes" is the coming Friday in Spanish usage; "de la semana que viene" moves it.
_NEXT = re.compile(r"semana")

DATES: list[tuple[str, Handler]] = [
    (r"\bpasado\s+manana\b", h_offset(2)),
    (r"(?<!la\s)(?<!esta\s)(?<!por\s)\bmanana\b", h_offset(1)),
    (
        r"\b(?:antes\s+de(?:l)?\s+|a\s+)?(?:(?:el\s+)?final|fin)\s+del\s+dia(?:\s+de\s+hoy)?\b"
        r"|\bantes\s+de\s+que\s+(?:termine|acabe)\s+el\s+dia\b",
        h_today_eod,
    ),
    (
        r"\b(?:hoy(?:\s+mismo)?|esta\s+tarde|a\s+lo\s+largo\s+del\s+dia|durante\s+el\s+dia)\b",
        h_offset(0),
    ),
    (
        r"\b(?:(?:proximo|este|siguiente)\s+)?" + _WD_RE
        + r"\b(?!\s+pasad[oa]\b)(?:\s+(?:proximo|que\s+viene|de\s+" + _NEXT_WEEK + r"))?",
        h_weekday(_WD, _NEXT),
    ),
    (
        r"\b(?:a\s+)?(?:principios|comienzos|inicios)\s+de\s+" + _NEXT_WEEK + r"\b",
        h_week(1, start=True),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+de\s+" + _NEXT_WEEK + r"\b|\b(?:durante\s+|en\s+)?"
        + _NEXT_WEEK + r"\b",
        h_week(1),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+de\s+(?:esta\s+|la\s+)?semana\b|\besta\s+(?:misma"
        r"\s+)?semana\b",
        h_week(0),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+del\s+(?:proximo\s+mes|mes\s+que\s+viene)\b",
        h_month_end(1),
    ),
    (r"\b(?:a\s+)?(?:finales|final|fin)\s+de(?:l|\s+este)?\s+mes\b", h_month_end(0)),
    (
        r"\b(?:en|dentro\s+de|en\s+los\s+proximos|en\s+las\s+proximas|en\s+un\s+plazo\s+de|en"
        r"\s+el\s+plazo\s+de|en\s+un\s+maximo\s+de)\s+"
        + num(
            r"un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|un\s+par\s+de"
            r"|unos\s+pocos|unas\s+pocas|unos|unas"
        )
        + r"\s+(?P<u>dias|dia|semanas|semana|meses|mes|horas|hora|minutos)"
        r"(?P<biz>\s+(?:habiles|laborables|laborales))?\b",
        _IN,
    ),
    (r"\b(?:en|dentro\s+de)\s+media\s+hora\b", h_half_hour),
    (r"\b[0-3]?\d\s+(?:de\s+)?" + _MONTH + r"\b(?:\s+de(?:l)?\s+\d{4})?", h_named_date),
    ISO_DATE,
    NUMERIC_DATE,
    (
        r"\b(?:el|antes\s+del|hasta\s+el|para\s+el)\s+(?:dia\s+)?(?P<d>[0-3]?\d)\b"
        r"(?!\s*(?:[:.%,]\d|%|h\b|horas|dias|de\s+\w+))",
        h_day_of_month,
    ),
    COLON_TIME,
    (
        r"\b(?:a|antes\s+de|hasta|para|sobre)\s+las\s+(?P<h>[01]?\d|2[0-3])(?![\d.,]\d|\d)"
        r"(?:[.:](?P<mi>[0-5]\d))?(?:\s*(?:h|hs|horas)\b)?",
        h_time,
    ),
    (
        r"\b(?:al\s+)?mediodia\b|\bpor\s+la\s+manana\b|\besta\s+manana\b|\bantes\s+de\s+comer\b",
        h_clock(12),
    ),
]  # fmt: skip


# "before Friday" means by the end of Thursday; "by", "until", "до", "până" include the day.
STRICT_BEFORE = re.compile(r"\bantes\s+(?:del?|de\s+el|de\s+la)\s+(?:dia\s+)?$")

# First-person commitments by us.
# Spanish first-person future needs its accent to be told from nouns ("nombre", "sobre"); it is
# matched on the lower-cased text that keeps accents, the rest on the folded text.
FUTURE_ACCENT = re.compile(
    r"\b(?:(?:se\s+)?(?:le|les|te|os|lo|la|los|las|me|nos)\s+)?(?!(?:estar|ser)(?:é|emos)\b)"
    r"\w{2,}ré\b"
)
NOT_FUTURE = frozenset({"puré"})

COMMIT: list[str] = [
    # "le envío", "te mando": present tense with a future meaning, clitic required because
    # "el envío", "el paso", "el mando" are nouns.
    r"\b(?:le|les|te|os|se)\s+(?:lo\s+|la\s+|los\s+|las\s+)?(?:envio|mando|paso|confirmo"
    r"|escribo|llamo|aviso|respondo|contesto|hago\s+llegar|remito|preparo|entrego|comento"
    r"|digo\s+algo|facilito|traslado|doy\s+respuesta)\b",
    # the same with "we" ("se la enviamos el martes"); as a past tense ("se la enviamos el
    # lunes pasado") it carries no future date and so makes no promise
    r"\b(?:le|les|te|os|se)\s+(?:lo\s+|la\s+|los\s+|las\s+)?(?:enviamos|mandamos|pasamos"
    r"|confirmamos|preparamos|entregamos|remitimos|hacemos\s+llegar|llamamos|escribimos"
    r"|avisamos)\b",
    r"(?<!el\s)(?<!un\s)(?<!su\s)(?<!mi\s)\b(?:confirmo|respondo|contesto|preparo|entrego"
    r"|remito|escribo)\b",
    r"\b(?:me|nos)\s+(?:pongo|ponemos|pondre|pondremos)\s+en\s+contacto\b",
    r"\b(?:(?:le|les|te|os)\s+)?vuelvo\s+a\s+(?:escribir|contactar|llamar)\w*",
    r"\b(?:(?:le|les|te|os|se\s+lo|se\s+la|se\s+los|se\s+las|lo|la|los|las)\s+)?(?:voy|vamos)"
    r"\s+a\s+(?!estar\b|ser\b)\w+(?:ar|er|ir)(?:le|les|lo|la|los|las|selo|sela|selos|selas)?\b",
    r"\b(?:me\s+comprometo|nos\s+comprometemos)\s+a\b|\bquedo\s+en\b"
    r"|\b(?:(?:le|les|te)\s+)?prometo\b",
    r"\b(?:usted\s+)?(?:tendra|recibira|tendran|recibiran|tendras|recibiras)\b(?!\s+que\b)",
    r"\b(?:le|les|te)\s+llegara(?:n)?\b",
    r"\b(?:(?:le|les|te|os)\s+)?(?:(?:se\s+)?(?:lo|la|los|las)\s+)?(?:enviare|mandare|preparare"
    r"|confirmare|llamare|escribire|respondere|contestare|pasare|avisare|entregare"
    r"|tendre|pondre|remitire|comunicare|informare|revisare|terminare|finalizare|volvere"
    r"|facilitare|enviaremos|mandaremos|prepararemos|confirmaremos|llamaremos|escribiremos"
    r"|responderemos|haremos|daremos|pasaremos|avisaremos|entregaremos|tendremos|pondremos"
    r"|remitiremos|comunicaremos|informaremos|revisaremos|terminaremos|finalizaremos"
    r"|volveremos|facilitaremos|podre|podremos)\b",
]

# Negations anywhere in the sentence that take the commitment back.
NEGATION = re.compile(
    r"\bno\s+(?:(?:le|les|te|os|se|lo|la|los|las|me|nos)\s+)*(?:puedo|podemos|podre|"
    r"podremos|prometo|prometemos|garantizo|garantizamos|creo|estoy|estamos|sera|es|llego|"
    r"llegamos|llegare|llegaremos|voy|vamos)\b|\b(?:imposible|dificilmente)\b"
)

# A negation right in front of the verb.
NEG_BEFORE = re.compile(r"\b(?:no|nunca)\s+(?:(?:le|les|te|os|se|lo|la|los|las|me|nos)\s+)*$")

# A promise that depends on the client acting first is not yet ours to keep.
CONDITIONAL = re.compile(
    r"^(?:si\s|en\s+caso\s+de\s+que|cuando|en\s+cuanto|tan\s+pronto\s+como|una"
    r"\s+vez\s+que)"
)

# What a client asking something of us writes.
REQUEST = re.compile(
    r"\b(?:por\s+favor|podria|podrian|podrias|puede|pueden|puedes|necesito|necesitamos|"
    r"necesitaria|necesitariamos|nos\s+hace\s+falta|me\s+hace\s+falta|envie\w*|mande\w*|"
    r"quisiera|quisieramos|nos\s+gustaria|me\s+gustaria|plazo|a\s+mas\s+tardar|urge|debe|"
    r"deben|es\s+posible|seria\s+posible|agradeceria\w*|esperamos)\b"
)
