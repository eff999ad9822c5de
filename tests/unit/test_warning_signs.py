"""Warning signs: precise phrases in four languages, quoted evidence, nothing for polite mail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.warning_signs import (
    SignKind,
    WarningSign,
    detect_slow_but_demanding,
    detect_text_signs,
    thread_signs,
)

K = SignKind

POSITIVES: list[tuple[SignKind, str, str, str]] = [
    # (kind, language, text, phrase the evidence must contain)
    (K.PRICE_PRESSURE, "en", "Could you add the logo design for the same money?", "same money"),
    (K.PRICE_PRESSURE, "en", "Hi, why is it so expensive? Others do it for half.", "so expensive"),
    (K.PRICE_PRESSURE, "en", "That's too expensive for us.", "too expensive"),
    (K.PRICE_PRESSURE, "en", "Can you give us a 20% discount?", "discount"),
    (K.PRICE_PRESSURE, "en", "Please add two more banners for free.", "for free"),
    (K.PRICE_PRESSURE, "ru", "Сделайте нам скидку, пожалуйста.", "скидку"),
    (K.PRICE_PRESSURE, "ru", "А можно за те же деньги добавить ещё страницу?", "те же деньги"),
    (K.PRICE_PRESSURE, "ru", "Почему так дорого?", "Почему так дорого"),
    (K.PRICE_PRESSURE, "ru", "Это слишком дорого для нас.", "дорого"),
    (K.PRICE_PRESSURE, "ro", "Se poate mai ieftin?", "mai ieftin"),
    (K.PRICE_PRESSURE, "ro", "Oferta este prea scumpă pentru noi.", "prea scump"),
    (K.PRICE_PRESSURE, "ro", "Ne puteți face o reducere de 15%?", "reducere"),
    (K.PRICE_PRESSURE, "es", "¿Nos pueden hacer un descuento?", "descuento"),
    (K.PRICE_PRESSURE, "es", "Es muy caro, la verdad.", "muy caro"),
    (
        K.PRICE_PRESSURE,
        "es",
        "¿Podrían incluir el mantenimiento por el mismo precio?",
        "mismo precio",
    ),
    (K.URGENCY, "en", "We need the draft ASAP.", "ASAP"),
    (K.URGENCY, "en", "This is urgent, reply today.", "urgent"),
    (K.URGENCY, "en", "Send the files immediately.", "immediately"),
    (K.URGENCY, "en", "I need it today without fail.", "without fail"),
    (K.URGENCY, "ru", "Срочно пришлите счёт!", "Срочно"),
    (K.URGENCY, "ru", "Нужно ответить немедленно.", "немедленно"),
    (K.URGENCY, "ro", "Avem nevoie de ofertă urgent.", "urgent"),
    (K.URGENCY, "ro", "Trimiteți contractul imediat.", "imediat"),
    (K.URGENCY, "es", "Es urgente, por favor.", "urgente"),
    (K.URGENCY, "es", "Necesitamos la respuesta cuanto antes.", "cuanto antes"),
    (K.URGENCY, "es", "Respondan inmediatamente.", "inmediatamente"),
    (K.MEETING_PUSH, "en", "Let's meet first, then we can talk about the scope.", "meet first"),
    (K.MEETING_PUSH, "en", "We need a meeting before we proceed any further.", "meeting before"),
    (K.MEETING_PUSH, "ru", "Давайте встретимся, тогда и обсудим цену.", "встретимся"),
    (K.MEETING_PUSH, "ru", "Без личной встречи мы ничего решать не будем.", "встречи"),
    (K.MEETING_PUSH, "ro", "Mai întâi trebuie să ne întâlnim.", "să ne întâlnim"),
    (K.MEETING_PUSH, "es", "Queremos una reunión antes de hablar de nada.", "reunión antes"),
    (K.MEETING_PUSH, "es", "Primero tenemos que reunirnos en persona.", "reunirnos"),
    (
        K.CONTRACT_NITPICKING,
        "en",
        "Please remove the liability clause and rewrite section 4.",
        "liability",
    ),
    (K.CONTRACT_NITPICKING, "en", "The penalty must be doubled.", "penalty"),
    (
        K.CONTRACT_NITPICKING,
        "ru",
        "Нас не устраивает пункт договора о сроках, перепишите его.",
        "пункт договора",
    ),
    (K.CONTRACT_NITPICKING, "ru", "Требуем увеличить неустойку до 1% в день.", "неустойку"),
    (
        K.CONTRACT_NITPICKING,
        "ro",
        "Penalitățile trebuie modificate în favoarea noastră.",
        "Penalit",
    ),
    (K.CONTRACT_NITPICKING, "ro", "Eliminați clauza 7, altfel nu semnăm.", "clauza"),
    (K.CONTRACT_NITPICKING, "es", "Hay que cambiar la cláusula de penalización.", "cláusula"),
    (K.CONTRACT_NITPICKING, "es", "La penalización es inaceptable.", "penalización"),
    (K.NO_CLEAR_GOAL, "en", "Honestly, we're not sure what we need yet.", "not sure what we need"),
    (K.NO_CLEAR_GOAL, "en", "Just send everything you have and we'll decide.", "send everything"),
    (K.NO_CLEAR_GOAL, "ru", "Мы сами не знаем, что хотим.", "сами не знаем"),
    (K.NO_CLEAR_GOAL, "ru", "Пришлите всё, что у вас есть.", "всё, что у вас есть"),
    (K.NO_CLEAR_GOAL, "ro", "Nu știm exact ce ne trebuie.", "Nu știm exact"),
    (K.NO_CLEAR_GOAL, "es", "No sabemos exactamente lo que queremos.", "No sabemos exactamente"),
    (K.NO_CLEAR_GOAL, "es", "Envíenos todo lo que tengan, ya veremos.", "todo lo que tengan"),
]


@pytest.mark.parametrize(("kind", "language", "text", "phrase"), POSITIVES)
def test_positive_phrases(kind: SignKind, language: str, text: str, phrase: str) -> None:
    for lang in (language, None):  # with and without the language hint
        signs = detect_text_signs(text, "<m1@x>", lang)
        found = [s for s in signs if s.kind is kind]
        assert found, (text, signs)
        assert phrase.lower() in found[0].evidence.lower()
        assert found[0].message_id == "<m1@x>"


def test_at_least_five_positives_per_text_kind() -> None:
    for kind in (
        K.PRICE_PRESSURE,
        K.URGENCY,
        K.MEETING_PUSH,
        K.CONTRACT_NITPICKING,
        K.NO_CLEAR_GOAL,
    ):
        cases = [c for c in POSITIVES if c[0] is kind]
        assert len(cases) >= 5
        assert len({c[1] for c in cases}) >= 3


POLITE: list[tuple[str, str]] = [
    (
        "en",
        "Dear Maria,\n\nThank you for the proposal. We reviewed it with our team and would like to "
        "go ahead. Could you send the contract for signature? The payment terms in clause 5 are "
        "fine for us.\n\nBest regards,\nJohn Smith",
    ),
    (
        "en",
        "Hi Peter, thanks for the quick answer. There is no rush, this is not urgent - next week "
        "is fine. Let's meet on Tuesday to sign the agreement.\nKind regards, Anna",
    ),
    (
        "en",
        "Thank you for the offer, we no longer need it. We decided to keep our current supplier. "
        "Best wishes, Tom",
    ),
    (
        "en",
        "Hello, could you tell us when the delivery is expected? We would appreciate an update at "
        "your earliest convenience. Thanks, Kate",
    ),
    (
        "ru",
        "Виктор Семенович, добрый день!\n\nСпасибо за коммерческое предложение. Условия нас "
        "устраивают, пришлите, пожалуйста, договор и счёт на оплату. Согласно пункту 4.2 оплату "
        "произведём в течение 10 дней.\n\nС уважением,\nГладков Виктор",
    ),
    (
        "ru",
        "Добрый день! Это не срочно, можно ответить на следующей неделе. Дорогие коллеги, "
        "благодарим за сотрудничество.",
    ),
    (
        "ru",
        "Здравствуйте! Спасибо, но мы решили отказаться от проекта. Желаем успехов.",
    ),
    (
        "ro",
        "Bună ziua,\n\nVă mulțumim pentru ofertă. Suntem de acord cu prețul și termenul de "
        "livrare. Vă rugăm să ne trimiteți contractul în dublu exemplar.\n\nCu stimă,\nIon Rusu",
    ),
    (
        "ro",
        "Buna ziua, imediat ce primim factura, efectuam plata. Nu este urgent. Multumesc!",
    ),
    (
        "es",
        "Buenos días:\n\nGracias por el presupuesto. Estamos de acuerdo con las condiciones y "
        "firmaremos el contrato esta semana. La cláusula de confidencialidad nos parece correcta."
        "\n\nSaludos cordiales,\nJuan Pérez",
    ),
    (
        "es",
        "Hola Marta, no es urgente, pueden respondernos la próxima semana. ¿Podemos programar una "
        "llamada el martes? Un saludo.",
    ),
    (
        "es",
        "Gracias por su propuesta, pero ya no la necesitamos. Les deseamos mucho éxito.",
    ),
]


@pytest.mark.parametrize(("language", "text"), POLITE)
def test_polite_mail_shows_nothing(language: str, text: str) -> None:
    assert detect_text_signs(text, "<p@x>", language) == []
    assert detect_text_signs(text, "<p@x>", None) == []


def test_polite_cases_cover_all_languages() -> None:
    assert len(POLITE) >= 10
    assert {lang for lang, _ in POLITE} == {"en", "ru", "ro", "es"}


def test_negated_phrases_are_not_signs() -> None:
    assert detect_text_signs("This is not urgent.", None) == []
    assert detect_text_signs("Это не срочно.", None) == []
    assert detect_text_signs("No es urgente.", None) == []
    assert detect_text_signs("We do not need a discount.", None) == []


def test_dear_is_not_expensive() -> None:
    # "дорогой"/"дорогие" mean "dear" in greetings; only "дорого" is about price.
    assert detect_text_signs("Дорогой Иван, спасибо! Дорогие коллеги, добрый день.", None) == []


def test_contract_term_alone_is_not_nitpicking() -> None:
    assert detect_text_signs("Clause 7 and the liability section look good.", None) == []
    assert detect_text_signs("Пункт 3 договора нас устраивает.", None) == []


def test_one_sign_per_kind_and_quoted_lines_ignored() -> None:
    text = "Urgent! Please reply ASAP.\n> old quote: why so expensive?\n"
    signs = detect_text_signs(text, "<a@x>", "en")
    assert [s.kind for s in signs] == [K.URGENCY]
    assert signs[0].evidence == "Urgent!"


def test_several_kinds_in_one_message_in_kind_order() -> None:
    text = "Срочно! Почему так дорого? Давайте встретимся и обсудим."
    kinds = [s.kind for s in detect_text_signs(text, "<a@x>", "ru")]
    assert kinds == [K.PRICE_PRESSURE, K.URGENCY, K.MEETING_PUSH]


def test_long_sentence_evidence_is_shortened_around_phrase() -> None:
    text = "word " * 100 + "we need it ASAP " + "word " * 100
    (sign,) = detect_text_signs(text, None, "en")
    assert "ASAP" in sign.evidence
    assert len(sign.evidence) < 200


def test_empty_text() -> None:
    assert detect_text_signs("", None) == []
    assert detect_text_signs("   \n> quoted only", None) == []


def test_slow_but_demanding() -> None:
    sign = detect_slow_but_demanding([900, 1200, 1500, 60], our_sla_minutes=240, urgency_signs=2)
    assert sign is not None
    assert sign.kind is K.SLOW_BUT_DEMANDING
    assert sign.message_id is None
    assert "17h 30m" in sign.evidence  # median of 60, 900, 1200, 1500 = 1050 minutes
    assert "4h" in sign.evidence
    assert "2 times" in sign.evidence


@pytest.mark.parametrize(
    ("minutes", "sla", "urgency"),
    [
        ([900, 1200, 1500], 240, 0),  # slow but never demanding
        ([100, 200, 300], 240, 3),  # demanding but fast
        ([2000, 2000], 240, 3),  # too few samples
        ([720, 720, 720], 240, 1),  # exactly 3x: not above
        ([900, 900, 900], 0, 1),  # no SLA configured
    ],
)
def test_not_slow_but_demanding(minutes: list[int], sla: int, urgency: int) -> None:
    assert detect_slow_but_demanding(minutes, sla, urgency) is None


def test_slow_but_demanding_median_resists_one_outlier() -> None:
    assert detect_slow_but_demanding([60, 90, 120, 10_000], 240, 1) is None


def test_thread_signs_dedup_keeps_first_evidence() -> None:
    a = WarningSign(K.URGENCY, "ASAP", "<1@x>")
    b = WarningSign(K.PRICE_PRESSURE, "too expensive", "<1@x>")
    c = WarningSign(K.URGENCY, "urgent", "<2@x>")
    d = WarningSign(K.NO_CLEAR_GOAL, "сами не знаем", "<3@x>")
    assert thread_signs([[a, b], [], [c], [d]]) == [a, b, d]
    assert thread_signs([]) == []


@pytest.mark.parametrize(
    "text",
    [
        "We will pay immediately after receiving the invoice.",
        "Thanks for the discount you offered last time.",
        "We would like to amend clause 4 regarding the delivery date, if that works for you.",
        "Мы внесли изменения в пункт 3, посмотрите, пожалуйста.",
        "Скидка 10%, которую вы предложили, нас устраивает.",
        "Пришлите, пожалуйста, договор. Мы готовы встретиться в среду.",
        "Imediat ce primim factura, vă plătim.",
        "Vă trimitem contractul semnat. Penalitățile sunt în regulă.",
        "¿Podemos tener una reunión antes del viernes?",
        "Le pagaremos inmediatamente después de recibir la factura.",
        "I am not sure what time works, maybe Tuesday?",
    ],
)
def test_near_misses_show_nothing(text: str) -> None:
    assert detect_text_signs(text, None) == []


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    language=st.sampled_from([None, "en", "ru", "ro", "es", "de"]),
)
def test_detect_never_fails_and_quotes_the_text(text: str, language: str | None) -> None:
    signs = detect_text_signs(text, "<id@x>", language)
    assert len({s.kind for s in signs}) == len(signs)
    for sign in signs:
        assert sign.evidence.strip("…") in text
        assert len(sign.evidence) <= 202
