"""Promise detection in our outgoing mail and deadlines asked by clients, in en/ru/ro/es.

Every positive case states the due date a sales person would write in their own diary for a
message sent on Wednesday 2026-03-11 at 10:00 in Chisinau (Mon 16, Fri 13, Fri 20, Tue 31 ...).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.promises import (
    DetectedPromise,
    detect_promises,
    detect_requested_deadline,
    promise_status,
)

TZ = ZoneInfo("Europe/Chisinau")
CAL = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
SENT = datetime(2026, 3, 11, 10, 0, tzinfo=TZ)  # a Wednesday

# (text, expected due date, expected time of day or None for end of business day)
Case = tuple[str, date, time | None]

EN_POSITIVE: list[Case] = [
    ("I will send the proposal by Wednesday.", date(2026, 3, 18), None),
    ("I'll get back to you tomorrow.", date(2026, 3, 12), None),
    ("We'll deliver the samples on Friday.", date(2026, 3, 13), None),
    ("I'll send it by 15:00 tomorrow.", date(2026, 3, 12), time(15, 0)),
    ("I will send you the contract by the end of next week.", date(2026, 3, 20), None),
    ("We will ship the order in 3 days.", date(2026, 3, 16), None),  # Saturday -> Monday
    ("I'll call you on Monday at 3pm.", date(2026, 3, 16), time(15, 0)),
    ("Our sales team will prepare the quote by March 13.", date(2026, 3, 13), None),
    ("I'm going to send the revised offer by the end of the week.", date(2026, 3, 13), None),
    ("We'll have the samples ready by 20/03.", date(2026, 3, 20), None),
    ("I will get back to you within 2 business days.", date(2026, 3, 13), None),
    ("I'll send over the pricing today.", date(2026, 3, 11), None),
    ("We'll confirm the delivery date next week.", date(2026, 3, 20), None),
    ("I'll send you the invoice by noon tomorrow.", date(2026, 3, 12), time(12, 0)),
    ("We promise to deliver before Friday.", date(2026, 3, 12), None),  # before = by Thursday
    ("I'll follow up on Thursday morning.", date(2026, 3, 12), time(12, 0)),
    ("You'll have the updated proposal by the 20th.", date(2026, 3, 20), None),
    ("I will send the documents in 2 hours.", date(2026, 3, 11), time(12, 0)),
    (
        "Hi John,\nthanks for the call. I will send the proposal\nby Friday.\n\n"
        "Best regards,\nAnna",
        date(2026, 3, 13),
        None,
    ),
    ("Let me get back to you on Monday next week.", date(2026, 3, 16), None),
    ("We'll send the signed contract the day after tomorrow.", date(2026, 3, 13), None),
    ("I'll revert by end of day.", date(2026, 3, 11), None),
    ("We will deliver next Tuesday.", date(2026, 3, 17), None),
    ("I will send the report by the end of the month.", date(2026, 3, 31), None),
    ("We'll send the final layout on 2026-03-24.", date(2026, 3, 24), None),
]

RU_POSITIVE: list[Case] = [
    ("Пришлю макет до 13 марта.", date(2026, 3, 13), None),
    ("Отправлю КП к пятнице.", date(2026, 3, 13), None),
    ("Подготовим договор до конца недели.", date(2026, 3, 13), None),
    ("Завтра вышлю счёт.", date(2026, 3, 12), None),
    ("Свяжусь с вами в понедельник.", date(2026, 3, 16), None),
    ("Направим предложение до 20.03.", date(2026, 3, 20), None),
    ("Я отправлю документы сегодня до 17:00.", date(2026, 3, 11), time(17, 0)),
    ("Перезвоню вам завтра в 15:00.", date(2026, 3, 12), time(15, 0)),
    ("Мы подготовим смету через 3 дня.", date(2026, 3, 16), None),
    ("Сообщу о результатах на следующей неделе.", date(2026, 3, 20), None),
    ("Вернусь к вам с ответом в среду.", date(2026, 3, 18), None),
    ("Постараюсь прислать всё до конца дня.", date(2026, 3, 11), None),
    ("Вышлем образцы в следующую пятницу.", date(2026, 3, 20), None),
    ("Уточню у коллег и дам знать послезавтра.", date(2026, 3, 13), None),
    ("Подпишем договор до 25-го.", date(2026, 3, 25), None),
    (
        "Согласую с руководством и отвечу в течение двух рабочих дней.",
        date(2026, 3, 13),
        None,
    ),
    (
        "Виктор Семенович, добрый день!\nПришлю обновлённый расчёт в четверг утром.",
        date(2026, 3, 12),
        time(12, 0),
    ),
    ("Отгрузим товар до конца месяца.", date(2026, 3, 31), None),
    ("Предоставим ответ через неделю.", date(2026, 3, 18), None),
    ("Пришлём подписанный договор 17 марта 2026 г.", date(2026, 3, 17), None),
]

RO_POSITIVE: list[Case] = [
    ("Vă trimit oferta până vineri.", date(2026, 3, 13), None),
    ("Revin cu un răspuns mâine.", date(2026, 3, 12), None),
    ("Vă voi trimite contractul până pe 20 martie.", date(2026, 3, 20), None),
    ("Va trimit oferta pana vineri.", date(2026, 3, 13), None),  # typed without diacritics
    ("O să vă trimit factura luni.", date(2026, 3, 16), None),
    ("Vom livra mostrele săptămâna viitoare.", date(2026, 3, 20), None),
    ("Vă confirm mâine până la ora 12.", date(2026, 3, 12), time(12, 0)),
    ("Pregătim documentele până la sfârșitul săptămânii.", date(2026, 3, 13), None),
    ("Vă sun joi la ora 15:00.", date(2026, 3, 12), time(15, 0)),
    ("Revin până pe 18.", date(2026, 3, 18), None),
    ("Vă transmitem propunerea în 2 zile lucrătoare.", date(2026, 3, 13), None),
    ("Am să vă trimit detaliile poimâine.", date(2026, 3, 13), None),
    ("Vă trimitem contractul astăzi.", date(2026, 3, 11), None),
    ("Voi reveni cu un răspuns vinerea viitoare.", date(2026, 3, 20), None),
    ("Vom expedia comanda pe 25.03.", date(2026, 3, 25), None),
    ("Vă scriu în cursul zilei de mâine.", date(2026, 3, 12), None),
    ("Vă trimit oferta în 3 zile.", date(2026, 3, 16), None),
    ("Revenim cu oferta actualizată până la sfârșitul lunii.", date(2026, 3, 31), None),
    ("Vă trimit factura marți.", date(2026, 3, 17), None),
]

ES_POSITIVE: list[Case] = [
    ("Le enviaré el presupuesto el lunes.", date(2026, 3, 16), None),
    ("Le confirmo mañana.", date(2026, 3, 12), None),
    ("Le enviaremos la oferta la semana que viene.", date(2026, 3, 20), None),
    ("Te envío el contrato el viernes.", date(2026, 3, 13), None),
    ("Le mandaré la factura antes del 20 de marzo.", date(2026, 3, 19), None),
    ("Me pondré en contacto con usted el jueves por la mañana.", date(2026, 3, 12), time(12, 0)),
    ("Vamos a enviar las muestras a finales de semana.", date(2026, 3, 13), None),
    ("Le respondo hoy antes de las 17:00.", date(2026, 3, 11), time(17, 0)),
    ("Prepararemos el pedido en 3 días.", date(2026, 3, 16), None),
    ("Le haré llegar la propuesta pasado mañana.", date(2026, 3, 13), None),
    ("Le llamaré el próximo martes.", date(2026, 3, 17), None),
    ("Le enviaré el presupuesto el 20/03.", date(2026, 3, 20), None),
    ("Me comprometo a entregar el informe el día 25.", date(2026, 3, 25), None),
    ("Le paso los datos mañana a las 10.", date(2026, 3, 12), time(10, 0)),
    ("Enviaremos la documentación el viernes de la semana que viene.", date(2026, 3, 20), None),
    ("Recibirá la factura en 2 días hábiles.", date(2026, 3, 13), None),
    ("Le escribiré a fin de mes.", date(2026, 3, 31), None),
    ("Le enviare el presupuesto el lunes.", date(2026, 3, 16), None),  # accent forgotten
    ("Sí, le envío la muestra mañana por la mañana.", date(2026, 3, 12), time(12, 0)),
]

NEGATIVE: dict[str, list[str]] = {
    "en": [
        "I can't promise Friday.",
        "Will you send it by Friday?",
        "Shall I send the offer by Friday?",
        "You will need to sign the contract by Friday.",
        "We shipped it on Monday.",
        "The samples go out today.",
        "I will send you the details soon.",
        "Let me know by Friday.",
        "Thanks for your message on Tuesday.",
        "I won't be able to send it by Friday.",
        "I'll be out of the office until Monday.",
        "If you confirm today, we'll deliver by Friday.",
    ],
    "ru": [
        "Не смогу до пятницы.",
        "Вы пришлёте документы до пятницы?",
        "Не пришлю раньше понедельника.",
        "Мы отправили образцы в понедельник.",
        "Образцы уходят сегодня.",
        "Пришлю позже.",
        "Можете прислать договор до пятницы?",
        "Если подпишете сегодня, отгрузим в пятницу.",
        "Спасибо за встречу в понедельник.",
        "К сожалению, вряд ли успеем до пятницы.",
    ],
    "ro": [
        "Nu pot promite vineri.",
        "Nu vă pot trimite oferta până vineri.",
        "Ne puteți trimite oferta până vineri?",
        "Am trimis oferta luni.",
        "Mostrele pleacă azi.",
        "Vă trimit oferta cât mai curând.",
        "Dacă confirmați azi, livrăm vineri.",
        "Mulțumesc pentru întâlnirea de marți.",
        "Voi trimiteți documentele până vineri.",
    ],
    "es": [
        "No puedo prometer el viernes.",
        "No le enviaré nada antes del lunes.",
        "¿Podría enviarnos el presupuesto el lunes?",
        "Enviamos las muestras el lunes pasado.",
        "Las muestras salen hoy.",
        "Le enviaré los detalles pronto.",
        "Si nos confirma hoy, le enviaremos el pedido el viernes.",
        "Gracias por la reunión del martes.",
        "Usted tendrá que firmar el contrato el viernes.",
        "Esperemos que el pedido llegue el lunes.",
        "El envío sale el lunes.",
    ],
}

POSITIVE: dict[str, list[Case]] = {
    "en": EN_POSITIVE,
    "ru": RU_POSITIVE,
    "ro": RO_POSITIVE,
    "es": ES_POSITIVE,
}


def _expected(day: date, at: time | None) -> datetime:
    if at is None:
        return CAL.end_of_business_day(day)
    return datetime.combine(day, at, tzinfo=TZ)


def _positive_params() -> list[object]:
    return [
        pytest.param(lang, text, day, at, id=f"{lang}-{i:02d}")
        for lang, cases in POSITIVE.items()
        for i, (text, day, at) in enumerate(cases)
    ]


def _negative_params() -> list[object]:
    return [
        pytest.param(lang, text, id=f"{lang}-{i:02d}")
        for lang, texts in NEGATIVE.items()
        for i, text in enumerate(texts)
    ]


def test_enough_cases_per_language() -> None:
    for lang in ("en", "ru", "ro", "es"):
        assert len(POSITIVE[lang]) >= 15, lang
        assert len(NEGATIVE[lang]) >= 6, lang


@pytest.mark.parametrize("language", ["given", "auto"])
@pytest.mark.parametrize(("lang", "text", "day", "at"), _positive_params())
def test_detects_promise(lang: str, text: str, day: date, at: time | None, language: str) -> None:
    found = detect_promises(text, SENT, CAL, lang if language == "given" else None)
    assert len(found) == 1, found
    promise = found[0]
    assert promise.due_at == _expected(day, at)
    assert promise.due_at.utcoffset() == _expected(day, at).utcoffset()
    assert promise.time_given is (at is not None)
    assert "\n" not in promise.text
    assert promise.text == promise.text.strip()


@pytest.mark.parametrize("language", ["given", "auto"])
@pytest.mark.parametrize(("lang", "text"), _negative_params())
def test_ignores_non_promise(lang: str, text: str, language: str) -> None:
    assert detect_promises(text, SENT, CAL, lang if language == "given" else None) == []


def test_promise_text_is_the_sentence() -> None:
    body = (
        "Dear Maria,\n\nThank you for the meeting on Tuesday. We have reviewed the brief.\n"
        "I will send the proposal by Wednesday. Please let me know if you have questions.\n\n"
        "Best regards,\nIon Popescu\nSales manager\n+373 22 000 000"
    )
    assert detect_promises(body, SENT, CAL, "en") == [
        DetectedPromise(
            text="I will send the proposal by Wednesday.",
            due_at=datetime(2026, 3, 18, 18, 0, tzinfo=TZ),
            time_given=False,
        )
    ]


def test_several_promises_in_one_message() -> None:
    body = "I'll send the draft tomorrow. The signed contract we will send by Friday."
    found = detect_promises(body, SENT, CAL, "en")
    assert [p.due_at.date() for p in found] == [date(2026, 3, 12), date(2026, 3, 13)]


def test_weekday_is_never_today() -> None:
    assert detect_promises("I'll send it on Wednesday.", SENT, CAL, "en")[0].due_at == (
        datetime(2026, 3, 18, 18, 0, tzinfo=TZ)
    )


def test_due_in_calendar_timezone_whatever_the_sent_timezone() -> None:
    sent_utc = SENT.astimezone(ZoneInfo("UTC"))
    found = detect_promises("I'll send it tomorrow.", sent_utc, CAL, "en")
    assert found[0].due_at == datetime(2026, 3, 12, 18, 0, tzinfo=TZ)
    assert found[0].due_at.tzinfo == TZ


def test_end_of_week_is_last_work_day() -> None:
    # A calendar whose week ends on Thursday (Sun-Thu).
    cal = BusinessCalendar(tz_name="Europe/Chisinau", work_days=frozenset({6, 0, 1, 2, 3}))
    found = detect_promises("We'll send it by the end of the week.", SENT, cal, "en")
    assert found[0].due_at.date() == date(2026, 3, 12)


def test_end_of_week_skips_public_holiday() -> None:
    # 2026-05-01 (Friday) is Labour Day in Spain: "fin de semana" ends on Thursday.
    cal = BusinessCalendar(tz_name="Europe/Madrid", holidays_country="ES")
    sent = datetime(2026, 4, 28, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    found = detect_promises("Le enviaré el contrato a finales de semana.", sent, cal, "es")
    assert found[0].due_at.date() == date(2026, 4, 30)


def test_today_after_closing_time_is_not_born_missed() -> None:
    late = datetime(2026, 3, 11, 19, 30, tzinfo=TZ)
    found = detect_promises("I'll send it today.", late, CAL, "en")
    assert found[0].due_at > late
    assert found[0].due_at.date() == date(2026, 3, 11)


def test_time_only_already_past_means_next_business_day() -> None:
    friday_evening = datetime(2026, 3, 13, 16, 0, tzinfo=TZ)
    found = detect_promises("I'll call you at 10:00.", friday_evening, CAL, "en")
    assert found[0].due_at == datetime(2026, 3, 16, 10, 0, tzinfo=TZ)
    assert found[0].time_given


def test_naive_sent_at_is_rejected() -> None:
    with pytest.raises(ValueError):
        detect_promises("I'll send it tomorrow.", datetime(2026, 3, 11, 10), CAL, "en")


def test_unknown_language_tries_all() -> None:
    assert len(detect_promises("Пришлю в пятницу.", SENT, CAL, "de")) == 1
    assert len(detect_promises("Пришлю в пятницу.", SENT, CAL, "ru-RU")) == 1


def test_morning_clock_times_stay_in_the_morning() -> None:
    found = detect_promises("I'll call you tomorrow at 07:30.", SENT, CAL, "en")
    assert found[0].due_at == datetime(2026, 3, 12, 7, 30, tzinfo=TZ)
    found = detect_promises("I'll call you tomorrow at 3.", SENT, CAL, "en")
    assert found[0].due_at == datetime(2026, 3, 12, 15, 0, tzinfo=TZ)


def test_date_mentioned_in_an_earlier_clause_is_not_the_due_date() -> None:
    assert detect_promises("As discussed on Monday, I will send the offer.", SENT, CAL) == []
    found = detect_promises("Tomorrow I'll send the offer.", SENT, CAL, "en")
    assert found[0].due_at.date() == date(2026, 3, 12)


def test_tag_question_keeps_the_promise() -> None:
    assert len(detect_promises("I'll send it by Friday, OK?", SENT, CAL, "en")) == 1
    assert len(detect_promises("Le envío el contrato el lunes, ¿le parece bien?", SENT, CAL)) == 1


def test_dateparser_always_gets_one_explicit_language(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    real = dateparser.parse

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(dateparser, "parse", spy)
    body = "Пришлю до 13 марта. I'll send it by March 20. Vă trimit pe 20 martie."
    assert len(detect_promises(body, SENT, CAL)) == 3
    assert calls
    for kwargs in calls:
        languages = kwargs.get("languages")
        assert isinstance(languages, list) and len(languages) == 1
        settings_ = kwargs.get("settings")
        assert isinstance(settings_, dict)
        assert settings_["RELATIVE_BASE"] == datetime(2026, 3, 11, 10, 0)
        assert settings_["PREFER_DATES_FROM"] == "future"


_FRAGMENTS = [
    "I will send", "I'll", "we'll deliver", "you will", "not", "can't", "by", "before", "on",
    "Friday", "Monday", "tomorrow", "next week", "end of the month", "in 3 days", "at 15:00",
    "3pm", "20/03", "31.02", "March 13", "the 31st", "?", ".", ",", "\n", "Пришлю", "до",
    "пятницы", "через 2 часа", "13 марта", "не", "Vă trimit", "până", "vineri", "mâine",
    "în 2 luni", "pe 31", "Le enviaré", "el lunes", "mañana", "antes del 30 de febrero", "no",
    "a las 25", "¿", "Si", "If", "2026-02-30", "99/99", "0.5",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map(" ".join),
    st.sampled_from([None, "en", "ru", "ro", "es"]),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31)),
)
def test_detection_never_crashes(text: str, language: str | None, sent: datetime) -> None:
    sent_at = sent.replace(tzinfo=TZ)
    for promise in detect_promises(text, sent_at, CAL, language):
        assert promise.due_at.tzinfo == TZ
        assert promise.text
    deadline = detect_requested_deadline(text, sent_at, CAL, language)
    assert deadline is None or deadline.tzinfo == TZ


# --------------------------------------------------------------------- requested deadlines

REQUESTED: list[tuple[str, str, datetime | None]] = [
    ("en", "Could you send it before March 20?", _expected(date(2026, 3, 19), None)),
    ("en", "We need the offer by Friday.", _expected(date(2026, 3, 13), None)),
    ("en", "Please send the contract by 15:00 tomorrow.", _expected(date(2026, 3, 12), time(15))),
    ("en", "Thanks, talk soon.", None),
    ("en", "We will send you the specifications on Friday.", None),
    (
        "en",
        "Please send the draft by Friday. We need the final version by March 31.",
        _expected(date(2026, 3, 13), None),
    ),
    ("es", "¿Antes del 20 de marzo?", _expected(date(2026, 3, 19), None)),
    ("es", "Necesitamos el presupuesto para el viernes.", _expected(date(2026, 3, 13), None)),
    ("es", "¿Podría enviarlo mañana?", _expected(date(2026, 3, 12), None)),
    ("es", "Gracias por su respuesta.", None),
    ("ru", "Нужно до пятницы.", _expected(date(2026, 3, 13), None)),
    ("ru", "Пришлите, пожалуйста, счёт до 20 марта.", _expected(date(2026, 3, 20), None)),
    ("ru", "Сможете подготовить КП к понедельнику?", _expected(date(2026, 3, 16), None)),
    ("ru", "Спасибо, получили.", None),
    ("ro", "Până pe 20 martie vă rog.", _expected(date(2026, 3, 20), None)),
    ("ro", "Ne puteți trimite oferta până vineri?", _expected(date(2026, 3, 13), None)),
    ("ro", "Avem nevoie de contract mâine.", _expected(date(2026, 3, 12), None)),
    ("ro", "Mulțumim pentru ofertă.", None),
]


@pytest.mark.parametrize("language", ["given", "auto"])
@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [pytest.param(*case, id=f"{case[0]}-{i:02d}") for i, case in enumerate(REQUESTED)],
)
def test_requested_deadline(lang: str, text: str, expected: datetime | None, language: str) -> None:
    got = detect_requested_deadline(text, SENT, CAL, lang if language == "given" else None)
    assert got == expected


# --------------------------------------------------------------------- status

DUE = datetime(2026, 3, 13, 18, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "ours", "done", "reneg", "expected"),
    [
        pytest.param(DUE - timedelta(days=1), [], False, False, "open", id="open-before-due"),
        pytest.param(DUE, [], False, False, "open", id="open-at-due"),
        pytest.param(DUE + timedelta(minutes=1), [], False, False, "missed", id="missed"),
        pytest.param(
            DUE + timedelta(days=3), [DUE - timedelta(hours=2)], False, False, "kept", id="kept"
        ),
        pytest.param(DUE - timedelta(hours=1), [DUE - timedelta(hours=2)], False, False, "kept",
                     id="kept-before-due"),
        pytest.param(DUE + timedelta(days=1), [DUE], False, False, "kept", id="kept-at-due"),
        pytest.param(
            DUE + timedelta(days=3), [DUE + timedelta(hours=1)], False, False, "missed",
            id="late-reply-is-missed",
        ),
        pytest.param(
            DUE - timedelta(days=1), [DUE - timedelta(hours=5)], False, False, "open",
            id="message-after-now-not-counted",
        ),
        pytest.param(DUE + timedelta(days=3), [], True, False, "kept", id="marked-done"),
        pytest.param(DUE + timedelta(days=3), [], False, True, "renegotiated", id="renegotiated"),
        pytest.param(
            DUE + timedelta(days=3), [DUE - timedelta(days=1)], False, True, "renegotiated",
            id="renegotiation-notice-is-not-keeping",
        ),
        pytest.param(DUE + timedelta(days=3), [], True, True, "kept", id="done-wins"),
    ],
)  # fmt: skip
def test_promise_status(
    now: datetime, ours: list[datetime], done: bool, reneg: bool, expected: str
) -> None:
    assert promise_status(DUE, now, ours, marked_done=done, renegotiated=reneg) == expected


def test_promise_status_needs_aware_times() -> None:
    with pytest.raises(ValueError):
        promise_status(DUE.replace(tzinfo=None), DUE, [])


# --- cases found by the evaluation set (tests/data/eval) ------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        (
            "We will courier the paper samples tomorrow, and I'll send you the price by the end "
            "of next week, once our production team has checked the embossing tool.",
            "en",
            [datetime(2026, 3, 12, 18, 0, tzinfo=TZ), datetime(2026, 3, 20, 18, 0, tzinfo=TZ)],
        ),
        (
            "Отгрузим в пятницу, счёт вышлю в течение часа.",
            "ru",
            [datetime(2026, 3, 13, 18, 0, tzinfo=TZ), datetime(2026, 3, 11, 11, 0, tzinfo=TZ)],
        ),
        (
            "Le paso la cotización esta tarde y la muestra se la enviamos el próximo martes.",
            "es",
            [datetime(2026, 3, 11, 18, 0, tzinfo=TZ), datetime(2026, 3, 17, 18, 0, tzinfo=TZ)],
        ),
        # two commitments with no clause break between them are one promise
        (
            "I'll check and get back to you tomorrow.",
            "en",
            [datetime(2026, 3, 12, 18, 0, tzinfo=TZ)],
        ),
        (
            "Уточню стоимость доставки и завтра пришлю вам предложение.",
            "ru",
            [datetime(2026, 3, 12, 18, 0, tzinfo=TZ)],
        ),
    ],
)
def test_each_clause_keeps_its_own_promise(text: str, lang: str, expected: list[datetime]) -> None:
    assert [p.due_at for p in detect_promises(text, SENT, CAL, lang)] == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # "I am writing to you: the samples left today" - the date is in another statement
        (
            "Doamna Stan este în concediu, așa că vă scriu dumneavoastră: mostrele de cutii au "
            "plecat astăzi prin Fan Courier.",
            "ro",
        ),
        # counted from an event that has not happened yet: no due date
        (
            "Vă rog să-mi trimiteți logoul, iar eu vă pregătesc oferta în 2 zile lucrătoare de la "
            "primirea lor.",
            "ro",
        ),
        ("I'll send the quote within 2 days of receiving the drawings.", "en"),
        ("Подготовим расчёт в течение 3 дней после оплаты счёта.", "ru"),
        ("Le enviaremos el pedido en 5 días desde la aprobación del diseño.", "es"),
        # a receipt is confirmed, nothing is promised
        ("Confirm primirea comenzii din 3 martie.", "ro"),
        # "last Monday" is in the past
        ("Se lo enviamos el lunes pasado.", "es"),
    ],
)
def test_found_by_the_evaluation_no_promise(text: str, lang: str) -> None:
    assert detect_promises(text, SENT, CAL, lang) == []


def test_romanian_i_confirm_delivery_is_a_promise() -> None:
    found = detect_promises("Confirm livrarea celor 2 tone până la 20 martie.", SENT, CAL, "ro")
    assert [p.due_at for p in found] == [datetime(2026, 3, 20, 18, 0, tzinfo=TZ)]


def test_a_quantity_after_para_las_is_not_a_clock_time() -> None:
    found = detect_promises("Le enviaré la oferta para las 500 bobinas el lunes.", SENT, CAL, "es")
    assert [(p.due_at, p.time_given) for p in found] == [
        (datetime(2026, 3, 16, 18, 0, tzinfo=TZ), False)
    ]


def test_romanian_afternoon_is_not_noon() -> None:
    found = detect_promises("O să vă sun mâine după-amiază.", SENT, CAL, "ro")
    assert [p.due_at for p in found] == [datetime(2026, 3, 12, 18, 0, tzinfo=TZ)]
    found = detect_promises("Vă sun mâine la amiază.", SENT, CAL, "ro")
    assert [p.due_at for p in found] == [datetime(2026, 3, 12, 12, 0, tzinfo=TZ)]
