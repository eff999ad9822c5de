"""Whom we are writing to, and how to greet them.

A business email greets the person by name, and never over-familiarly: Russian correspondents
get first name + patronymic ("Виктор Семенович"), others their first name. A wrong or guessed
name is worse than a neutral greeting, so every doubtful case yields ``greeting_name=None``.
Nothing here ever derives a familiar or diminutive form: a name is used only as it was written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailwatch.core.text import fold, fold_words

__all__ = ["Addressee", "addressee", "name_from_signature"]


@dataclass(frozen=True, slots=True)
class Addressee:
    """``greeting_name`` None means: use a neutral greeting ("Good afternoon," / "Добрый день,").

    ``confident`` is True only when ``greeting_name`` rests on clear evidence (a patronymic, a
    surname marked in capitals or by its ending, a known first name, a Western-order name);
    a name that is usable but weaker (a role mailbox, an order guessed by convention) is False.
    """

    full_name: str | None
    greeting_name: str | None
    confident: bool


# --- word lists (compared case- and accent-insensitively) ----------------------------------------


_TITLES = fold_words(
    """mr mrs ms miss mx dr prof professor sir madam dame rev hon atty eng
    sr sra srta señor señora señorita don doña dña dra lic ing arq
    dl dna d-l d-na d-na. dnul dna. domnul doamna domnisoara
    г-н г-жа господин госпожа"""
)
_SUFFIXES = fold_words("jr jr. sr. ii iii iv phd ph.d mba msc md esq cpa pmp mph bsc ma")

# Words that make a display name a company, a team or a role rather than a person.
_ORG_WORDS = fold_words(
    """team sales support info office department dept company corp corporation inc incorporated
    llc ltd limited gmbh ag plc srl s.r.l. sa s.a. sl s.l. sas bv nv group holding holdings
    service services customer customers billing accounts accounting admin administration hr
    marketing procurement purchasing newsletter contact contacts help helpdesk desk reception
    orders operations logistics finance legal management board store shop notifications
    ооо оао зао пао ао ип нко компания команда отдел служба поддержка продаж продажи
    бухгалтерия офис группа магазин приемная канцелярия
    echipa echipă departamentul departament vanzari vânzări birou firma firmă societatea
    comenzi contabilitate suport relatii relații
    equipo ventas soporte atención atencion departamento empresa compras oficina contacto
    facturacion facturación pedidos administración distribuciones distribuidora distribución
    industrias suministros embalajes envases
    distributors distribution trading industries supplies packaging
    дистрибуция торговый дом"""
)
# Words that end a candidate line taken from a signature: job titles, not names.
_JOB_WORDS = fold_words(
    """manager director ceo cto cfo coo head officer engineer assistant specialist consultant
    executive president founder partner owner lead coordinator analyst representative
    менеджер директор руководитель специалист инженер начальник помощник консультант
    director directoare manager inginer specialist consultant asistent sef șef
    gerente jefe jefa responsable ejecutivo ejecutiva consultor consultora asistente directora"""
)
_ROLE_LOCAL_PARTS = fold_words(
    """info sales office contact contacts support admin hello hi team hr billing accounts
    accounting enquiries enquiry inquiries inquiry orders order purchasing procurement
    marketing reception mail email help service services secretary secretariat webmaster
    noreply no-reply bookings booking invoices invoice finance legal jobs careers press
    ventas oficina contacto soporte pedidos facturacion administracion compras
    vanzari comenzi contabilitate suport secretariat birou
    zakaz zakazy prodazhi buh buhgalteria priemnaya sekretar ofis"""
)
# Full (never diminutive) first names; used only to tell first name from surname.
_FIRST_NAMES = fold_words(
    """Александр Алексей Анатолий Андрей Антон Аркадий Арсений Артём Борис Вадим Валентин
    Валерий Василий Виктор Виталий Владимир Владислав Всеволод Вячеслав Геннадий Георгий Глеб
    Григорий Даниил Денис Дмитрий Евгений Егор Захар Иван Игорь Илья Кирилл Константин Лев
    Леонид Максим Марк Матвей Михаил Никита Николай Олег Павел Пётр Роман Ростислав Руслан
    Савелий Семён Сергей Станислав Степан Тимофей Тимур Фёдор Филипп Эдуард Юрий Яков Ярослав
    Богдан Эльдар Эмиль Рустам Ринат Альберт Артур
    Александра Алёна Алина Алла Анастасия Ангелина Анна Антонина Валентина Валерия Василиса
    Вера Вероника Виктория Галина Дарья Диана Ева Евгения Екатерина Елена Елизавета Жанна Зоя
    Инна Ирина Карина Кристина Ксения Лариса Лидия Лилия Любовь Людмила Майя Маргарита Марина
    Мария Милана Надежда Наталья Наталия Нина Оксана Олеся Ольга Полина Раиса Регина Светлана
    Снежана Софья София Таисия Тамара Татьяна Ульяна Эльвира Эмилия Юлия Яна
    Ion Ioan Andrei Alexandru Mihai Gheorghe Vasile Constantin Dan Florin Cristian Adrian Bogdan
    Ionut Radu Sorin Marius Ciprian Catalin Dragos Razvan Stefan Nicolae Dumitru Petru Marin
    Lucian Ovidiu Emil Iulian Sergiu Tudor Vlad Eugen Viorel Cosmin Liviu Octavian Silviu Alin
    Dorin Mircea Horia Costin Valentin Victor Paul George Daniel Gabriel Mihail
    Ioana Andreea Cristina Mihaela Daniela Gabriela Alina Raluca Irina Simona Roxana Oana Laura
    Carmen Nicoleta Georgiana Alexandra Bianca Anca Monica Doina Rodica Lucia Corina Delia
    Luminita Mirela Teodora Cornelia Florentina Adina Camelia Violeta Elena Ana Maria Ileana
    Juan José Carlos Luis Antonio Manuel Francisco Javier Miguel Pedro Jorge Alberto Fernando
    Diego Pablo Sergio Andrés Alejandro Ricardo Rafael Ramón Enrique Jesús Ángel Álvaro Rubén
    Iván David Roberto Eduardo Gustavo Óscar Hugo Ignacio Joaquín Santiago Tomás Mateo Martín
    Emilio Raúl Marcos Jaime Vicente Felipe Rodrigo Gonzalo
    María Carmen Lucía Marta Isabel Pilar Rosa Teresa Sofía Paula Sara Raquel Mercedes Dolores
    Beatriz Patricia Silvia Mónica Verónica Alicia Rocío Nuria Inés Julia Natalia Andrea Claudia
    Gloria Irene Lorena Susana Victoria Adriana Guadalupe Fernanda Eugenia Montserrat Concepción
    John James Robert Michael William Richard Thomas Charles Christopher Matthew Anthony Mark
    Steven Kevin Brian Peter Edward Henry Jack Oliver Harry Samuel Benjamin Andrew Joseph
    Mary Jennifer Linda Elizabeth Sarah Susan Jessica Karen Emily Emma Anna Kate Catherine
    Margaret Helen Rachel Rebecca Olivia Sophie Charlotte Amanda Nicole Michelle"""
)
# Second halves of compound given names ("María José", "Juan Carlos", "Ana Maria").
_COMPOUND_FIRST = fold_words("María José Juan Ana Luis Miguel Jesús Francisco Carlos Pedro Jorge")

_PARTICLES = fold_words("de del la las los da das do dos di du van von der den y e le")

# Surnames by their ending. Cyrillic: -ов/-ев/-ова/-ева/-ский/-цкий/-енко/... (strong) and
# -ин/-ина/-ын (weak: "Ирина", "Валентин" end so too). Romanian: -escu, -eanu.
_SURNAME_STRONG_CYR = tuple(
    fold(s) for s in ("ов", "ев", "ова", "ева", "ский", "ская", "цкий", "цкая", "енко", "ых", "их")
)
_SURNAME_WEAK_CYR = ("ин", "ина", "ын", "ына")
_SURNAME_LATIN_RO = ("escu", "eanu")
# Transliterated Russian surnames, only trusted when the mail is in Russian.
_SURNAME_LATIN_RU = ("ov", "ev", "ova", "eva", "sky", "skiy", "skii", "skaya", "enko")

# Patronymics. Cyrillic "-ич" alone also fits (Ильич, Кузьмич); Latin "-ich" alone does not
# (Ulrich, Dietrich), so only the long Latin endings count.
_PATRONYMIC_CYR = ("ович", "евич", "овна", "евна", "ична", "инична", "ич")
_PATRONYMIC_LAT = ("ovich", "evich", "ovna", "evna", "ichna", "inichna", "yevich", "yevna")

_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_EMAIL_RE = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_BRACKETS_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|<[^>]*>")
_QUOTES = '"«»“”„‟‚‹›'
_EDGE_APOSTROPHE_RE = re.compile(r"(?<!\w)['’‘`]+|['’‘`]+(?!\w)")
_COMPANY_SEP_RE = re.compile(r"\s+[|/@–—-]+\s+|\s*[|/]\s*|\s+[–—]\s*|\s+at\s+|::")
_TOKEN_OK_RE = re.compile(r"^[^\W\d_]+(?:[-'’.][^\W\d_]+)*\.?$")
_INITIAL_RE = re.compile(r"^[^\W\d_]\.?$|^(?:[^\W\d_]\.){1,3}$")


def _is_cyrillic(token: str) -> bool:
    return bool(_CYRILLIC_RE.search(token))


def _is_initial(token: str) -> bool:
    return bool(_INITIAL_RE.match(token))


def _is_patronymic(token: str) -> bool:
    t = fold(token)
    if _is_cyrillic(token):
        return len(t) >= 5 and t.endswith(_PATRONYMIC_CYR)
    return len(t) >= 7 and t.endswith(_PATRONYMIC_LAT)


def _surname_score(token: str, language: str) -> int:
    """2 for a surname-like ending that first names never have, 1 for a weak one, else 0."""
    t = fold(token)
    if len(t) < 4 or t in _FIRST_NAMES:
        return 0
    if _is_cyrillic(token):
        if t.endswith(_SURNAME_STRONG_CYR):
            return 2
        return 1 if t.endswith(_SURNAME_WEAK_CYR) else 0
    if t.endswith(_SURNAME_LATIN_RO):
        return 2
    if language == "ru" and len(t) >= 5 and t.endswith(_SURNAME_LATIN_RU):
        return 2
    return 0


def _known_first(token: str) -> bool:
    return fold(token) in _FIRST_NAMES


def _capitalise(token: str, first: bool) -> str:
    """ "IVAN" / "ivan" -> "Ivan", "o'neil" -> "O'Neil", "jean-pierre" -> "Jean-Pierre"."""
    letters = [ch for ch in token if ch.isalpha()]
    if not letters or _is_initial(token):
        return token
    if not (all(ch.isupper() for ch in letters) or all(ch.islower() for ch in letters)):
        return token  # deliberate mixed case ("McDonald", "DeAngelo")
    if not first and fold(token) in _PARTICLES:
        return token.lower()
    parts = re.split(r"([-'’])", token.lower())
    return "".join(p[:1].upper() + p[1:] for p in parts)


@dataclass(frozen=True, slots=True)
class _Name:
    tokens: tuple[str, ...]
    surnames: frozenset[int]  # token positions marked as surnames by capitals ("POPESCU Maria")


def _is_org(text: str, email: str) -> bool:
    words = [fold(w).strip(".,") for w in re.split(r"[\s,]+", text) if w]
    if any(w in _ORG_WORDS for w in words):
        return True
    folded = fold(text)
    if re.search(r"\bs\.?\s?r\.?\s?l\b|\bs\.?\s?a\b\.?$|\bs\.?\s?l\b\.?$", folded):
        return True
    domain_label = email.rpartition("@")[2].split(".")[0]
    return len(words) == 1 and bool(domain_label) and words[0] == fold(domain_label)


def _is_job(text: str) -> bool:
    return any(fold(w).strip(".,") in _JOB_WORDS for w in text.split())


def _strip_titles(tokens: list[str]) -> list[str]:
    while tokens and (fold(tokens[0]) in _TITLES or fold(tokens[0]).rstrip(".") in _TITLES):
        tokens = tokens[1:]
    while tokens and (fold(tokens[-1]) in _SUFFIXES or fold(tokens[-1]).rstrip(".") in _SUFFIXES):
        tokens = tokens[:-1]
    return tokens


def _person_tokens(text: str) -> list[str] | None:
    """The tokens of ``text`` if it reads as a person's name, after titles are removed."""
    tokens = _strip_titles(text.replace(",", " ").split())
    if not 1 <= len(tokens) <= 5:
        return None
    if not all(_TOKEN_OK_RE.match(t) for t in tokens):
        return None
    if all(_is_initial(t) for t in tokens):
        return None
    return tokens


def _parse_name(raw: str, email: str) -> _Name | None:
    """A display-name or signature line as a person's name; None for companies and roles."""
    text = unicodedata.normalize("NFC", raw)
    text = _EMAIL_RE.sub(" ", text)
    text = _BRACKETS_RE.sub(" ", text)
    text = text.translate({ord(q): " " for q in _QUOTES})
    text = _EDGE_APOSTROPHE_RE.sub(" ", text)  # quotes, but not the one in "O'Neil"
    text = " ".join(text.split()).strip(" ,;:-–—")
    if not text:
        return None
    # "Juan Pérez | Acme", "Maria Popescu - Acme SRL", "John Smith at Acme": the person comes first,
    # unless that first part is the company ("Acme | Juan Pérez").
    segments = [s.strip(" ,;:") for s in _COMPANY_SEP_RE.split(text) if s.strip(" ,;:")]
    personal = [s for s in segments if not _is_org(s, email)]
    if not personal:
        return None
    text = personal[0]
    # "Last, First" order; parts after a comma that are companies or degrees are dropped.
    parts = [p.strip() for p in text.split(",") if p.strip()]
    parts = [
        p for p in parts if not _is_org(p, email) and not _is_job(p) and _strip_titles(p.split())
    ]
    if not parts:
        return None
    if len(parts) >= 2 and len(parts[0].split()) <= 3 and len(parts[1].split()) <= 3:
        text = f"{parts[1]} {parts[0]}"
    else:
        text = parts[0]
    if _is_org(text, email):
        return None
    tokens = _person_tokens(text)
    if tokens is None:
        return None
    if len(tokens) == 1 and tokens[0] in (email, email.partition("@")[0]):
        return None  # the display name is just the (lower-case) address or its local part
    caps = [
        i
        for i, t in enumerate(tokens)
        if not _is_initial(t)
        and sum(ch.isalpha() for ch in t) > 1
        and all(ch.isupper() for ch in t if ch.isalpha())
    ]
    words = [t for t in tokens if not _is_initial(t)]
    surnames = frozenset(caps) if 0 < len(caps) < len(words) else frozenset()
    normalised = tuple(_capitalise(t, i == 0) for i, t in enumerate(tokens))
    return _Name(normalised, surnames)


# --- signatures ---------------------------------------------------------------------------------

_CLOSINGS = (
    # en
    r"(?:best|kind|kindest|warm|warmest|warm\s+kind)\s+regards|regards|best\s+wishes|best"
    r"|cheers|many\s+thanks|thanks(?:\s+(?:again|in\s+advance|a\s+lot))?"
    r"|thank\s+you(?:\s+(?:again|in\s+advance|very\s+much))?|sincerely|yours\s+sincerely"
    r"|yours\s+faithfully|yours\s+truly|sincerely\s+yours|respectfully|all\s+the\s+best"
    # ru
    r"|с\s+уважением(?:\s+и\s+наилучшими\s+пожеланиями)?|с\s+наилучшими\s+пожеланиями"
    r"|всего\s+(?:доброго|хорошего|наилучшего)|(?:заранее\s+)?спасибо(?:\s+заранее)?"
    r"|благодарю|с\s+благодарностью|хорошего\s+дня"
    # ro
    r"|cu\s+(?:stim[ăa]|respect|considera[țţt]ie|drag|bine)|toate\s+cele\s+bune|numai\s+bine"
    r"|o\s+zi\s+bun[ăa]|mul[țţt]umesc(?:\s+frumos)?|mul[țţt]umim|salut[ăa]ri|cele\s+bune"
    # es
    r"|(?:un\s+)?(?:cordial\s+)?saludos?(?:\s+cordiales)?|(?:reciba\s+)?un\s+(?:cordial\s+)?saludo"
    r"|atentamente|cordialmente|(?:muchas\s+)?gracias|un\s+abrazo"
)
_CLOSING_RE = re.compile(
    rf"^\s*(?:{_CLOSINGS})(?:\s*[,.!;:]+\s*|\s+|$)(?P<rest>.*)$",
    re.IGNORECASE,
)
_SIG_DELIMITER_RE = re.compile(r"^\s*(?:--|__+|—)\s*$")


def _signature_candidate(line: str) -> _Name | None:
    line = line.strip().lstrip("-–—•* ").rstrip(" ,.;!")
    if not line or len(line) > 60:
        return None
    name = _parse_name(line, "")
    if name is None:
        return None
    if _is_job(" ".join(name.tokens)):
        return None
    # Signature names are capitalised; "for the update" after "Thanks" is not a name.
    if not all(t[:1].isupper() for t in line.replace(",", " ").split() if t.isalpha()):
        return None
    return name


def name_from_signature(text: str | None) -> str | None:
    """The signer's name from the last closing ("Best regards,\\nMaria Popescu"), if any."""
    name = _signature_name(text)
    return " ".join(name.tokens) if name else None


def _signature_name(text: str | None) -> _Name | None:
    if not text:
        return None
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(">")]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        closing = _CLOSING_RE.match(line)
        if closing is None and not _SIG_DELIMITER_RE.match(line):
            continue
        rest = closing.group("rest").strip() if closing else ""
        if rest:
            candidate = _signature_candidate(rest)
            if candidate is not None:
                return candidate
            continue  # "Thanks for the offer." is a sentence, not a closing
        following = [ln for ln in lines[i + 1 : i + 4] if ln.strip()]
        if following:
            candidate = _signature_candidate(following[0])
            if candidate is not None:
                return candidate
    return None


# --- greeting -----------------------------------------------------------------------------------


def _greeting(name: _Name, language: str, email: str) -> tuple[str | None, bool]:
    """The greeting form of ``name`` and whether it rests on clear evidence."""
    tokens = list(name.tokens)
    n = len(tokens)

    # Russian: first name + patronymic, in either order ("Гладков Виктор Семенович").
    for p in range(1, n):
        if _is_patronymic(tokens[p]) and not _is_initial(tokens[p - 1]):
            if p - 1 in name.surnames or _surname_score(tokens[p - 1], language) == 2:
                continue
            return f"{tokens[p - 1]} {tokens[p]}", True

    if n == 1:
        token = tokens[0]
        local = re.split(r"[._\-+]", fold(email.partition("@")[0]))
        if _is_initial(token) or _surname_score(token, language):
            return None, False
        if local and fold(token) == local[0]:
            return token, True  # "Maria" <maria.popescu@...>: that is her first name
        if _known_first(token):
            return token, False  # a known first name, though we cannot check it
        return None, False  # a lone word may be a surname, a nickname or a brand

    first = _first_name_index(name, language)
    if first is None:
        return None, False
    index, confident = first
    given = tokens[index]
    if _is_initial(given):
        return None, False
    following = tokens[index + 1] if index + 1 < n else None
    remaining = n - index - 2  # tokens left for a surname after a compound given name
    if (
        following is not None
        and fold(given) in _COMPOUND_FIRST
        and _known_first(following)
        and (remaining >= 1 or index > 0)
        and index + 1 not in name.surnames
    ):
        return f"{given} {following}", confident
    return given, confident


def _first_name_index(name: _Name, language: str) -> tuple[int, bool] | None:
    tokens = name.tokens
    n = len(tokens)
    if name.surnames:
        rest = [i for i in range(n) if i not in name.surnames]
        return (rest[0], True) if rest else None
    first, last = tokens[0], tokens[-1]
    known0, known_last = _known_first(first), _known_first(last)
    s0, s_last = _surname_score(first, language), _surname_score(last, language)
    if known0 and not known_last:
        return 0, True
    if s0 > s_last:
        # "Popescu Ana Maria", "Гладков Виктор": surname first, given name follows it.
        return 1, True
    if known_last and not known0:
        return (n - 1 if n == 2 else 1), True
    if s_last > s0 or (known0 and known_last):
        return 0, True
    if any(_is_cyrillic(t) for t in tokens):
        return None  # Russian display names come in both orders; do not guess
    return 0, language in ("en", "es")


def addressee(
    display_name: str | None, email: str, signature_text: str | None, language: str
) -> Addressee:
    """Whom to greet, from the display name or else the signature at the end of their message."""
    email = email.strip().lower()
    from_display = _parse_name(display_name, email) if display_name else None
    from_signature = _signature_name(signature_text)
    chosen = from_display
    if from_signature is not None:
        if from_display is None:
            chosen = from_signature
        else:
            # The signature often says more ("Виктор Гладков" signs "Гладков Виктор Семенович").
            shown = {fold(t) for t in from_display.tokens}
            signed = {fold(t) for t in from_signature.tokens}
            if shown < signed:
                chosen = from_signature
    if chosen is None:
        return Addressee(None, None, False)
    greeting, confident = _greeting(chosen, language, email)
    local = fold(email.partition("@")[0])
    if local in _ROLE_LOCAL_PARTS:
        confident = False  # a shared mailbox: whoever answers next may be someone else
    return Addressee(" ".join(chosen.tokens), greeting, confident and greeting is not None)
