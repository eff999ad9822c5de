"""The intent of the client's last message, in four languages, and the draft kind it calls for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.classify import classify_inbound
from mailwatch.core.intent import Intent, classify_intent, kind_for_intent
from mailwatch.core.parse import parse_message
from tests.helpers import make_msg

CASES = [
    # thanks only
    ("Thanks, received!", Intent.THANKS_ONLY),
    ("Спасибо, получили!\nИрина", Intent.THANKS_ONLY),
    ("Mulțumesc frumos, am primit.", Intent.THANKS_ONLY),
    ("¡Muchas gracias, recibido!\nLucía", Intent.THANKS_ONLY),
    # not thanks only: they still wait, ask or add something
    ("Спасибо, жду.", Intent.TIMING),
    ("Thanks! When can you deliver?", Intent.TIMING),
    # refusal
    ("Thank you, but we no longer need the pouches.", Intent.REFUSAL),
    ("Спасибо, но уже не актуально — выбрали другого поставщика.", Intent.REFUSAL),
    ("Vă mulțumim, dar nu mai avem nevoie de cutii.", Intent.REFUSAL),
    ("Gracias, pero ya no lo necesitamos.", Intent.REFUSAL),
    # price pushback
    ("Your price is too high, our current supplier gives us 5.40.", Intent.PRICE_PUSHBACK),
    ("Дороговато. Можете дать скидку при тираже 20 тысяч?", Intent.PRICE_PUSHBACK),
    ("Prețul este prea mare, ne puteți face o reducere?", Intent.PRICE_PUSHBACK),
    ("El precio nos parece alto. ¿Hay margen de descuento?", Intent.PRICE_PUSHBACK),
    # complaint
    ("Half of the boxes arrived damaged.", Intent.COMPLAINT),
    ("В партии брак: этикетки отклеиваются.", Intent.COMPLAINT),
    ("Am primit etichete deteriorate, 2 role din 10.", Intent.COMPLAINT),
    ("Las cajas llegaron dañadas y el color es equivocado.", Intent.COMPLAINT),
    # meeting
    ("Could we set up a call on Thursday to go through the artwork?", Intent.MEETING),
    ("Предлагаю созвониться в среду, обсудить макет.", Intent.MEETING),
    ("Putem stabili o întâlnire săptămâna viitoare?", Intent.MEETING),
    ("¿Podemos tener una breve llamada el jueves?", Intent.MEETING),
    # timing
    ("Any news on the quote?", Intent.TIMING),
    ("Когда будет готово КП?", Intent.TIMING),
    ("Când ne trimiteți oferta?", Intent.TIMING),
    ("¿Cuándo tendremos el presupuesto?", Intent.TIMING),
    # request
    ("Please quote 5,000 kraft boxes 30x20x10 cm, delivery to Iasi.", Intent.REQUEST),
    ("Пришлите, пожалуйста, КП на 10 000 пакетов дой-пак 150 г.", Intent.REQUEST),
    ("Vă rog să ne trimiteți oferta de preț pentru 3.000 de pungi.", Intent.REQUEST),
    ("Necesitamos presupuesto para 20.000 etiquetas de 10x7 cm.", Intent.REQUEST),
    # unclear
    ("Hello, we are interested in your products. Please tell us more.", Intent.UNCLEAR),
    ("Добрый день! Нас интересует ваша продукция. Что можете предложить?", Intent.UNCLEAR),
    (
        "Bună ziua, suntem interesați de produsele dumneavoastră. Ce ne puteți oferi?",
        Intent.UNCLEAR,
    ),
    ("Buenos días, estamos interesados en sus productos. ¿Qué nos pueden ofrecer?", Intent.UNCLEAR),
]


@pytest.mark.parametrize(("text", "intent"), CASES)
def test_intent(text: str, intent: Intent) -> None:
    verdict = classify_intent(text)
    assert verdict.intent is intent, verdict.evidence
    assert verdict.evidence  # always says why


def test_kinds() -> None:
    assert kind_for_intent(Intent.REFUSAL) == "closing"
    assert kind_for_intent(Intent.UNCLEAR) == "clarify"
    assert kind_for_intent(Intent.THANKS_ONLY) is None
    for intent in (Intent.REQUEST, Intent.TIMING, Intent.PRICE_PUSHBACK, Intent.COMPLAINT):
        assert kind_for_intent(intent) == "acknowledgment"


def test_thanks_only_needs_no_reply_and_says_why() -> None:
    msg = parse_message(
        make_msg(
            subject="Re: Invoice", sender="Ana <ana@client.test>", body="Mulțumesc, am primit!\n"
        )
    )
    verdict = classify_inbound(msg, frozenset({"sales@us.test"}), frozenset())
    assert not verdict.needs_reply and "thanks only" in verdict.reason
    msg = parse_message(
        make_msg(
            subject="Re: Invoice",
            sender="Ana <ana@client.test>",
            body="Mulțumesc, aștept oferta.\n",
        )
    )
    assert classify_inbound(msg, frozenset({"sales@us.test"}), frozenset()).needs_reply


@given(st.text(max_size=400))
def test_never_fails(text: str) -> None:
    verdict = classify_intent(text)
    assert verdict.intent in Intent and verdict.evidence
