"""The web page and the digest in each interface language, in a real Chromium.

The same real site as test_web (mail synced from Dovecot, drafts from the DraftService, the app
under uvicorn). The browser's Accept-Language picks the language when UI_LANGUAGE is unset; the
switch in the page (a CSRF-checked form) sets a cookie that wins. Every page and the digest's
HTML are rendered in en, ru, ro and es at desktop and at 390 px: translated, with the right
``lang``, and nothing scrolls sideways. Screenshots go to $I18N_SCREENSHOTS (the committed
ones in docs/screenshots/ come from ``I18N_SCREENSHOTS=docs/screenshots``), else tmp.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from mailwatch.config import SETTINGS
from mailwatch.digest.data import build_digest
from mailwatch.digest.render import render_html
from tests.integration.test_web import PASSWORD, site  # noqa: F401 - the module's site fixture

pytestmark = pytest.mark.slow

SIZES = {"desktop": (1280, 900), "390": (390, 844)}
ACCEPT = {"en": "en-US", "ru": "ru-RU", "ro": "ro-RO", "es": "es-ES"}
# What each page must say in each language (the real catalogs' words).
WORDS = {
    "en": {"login": "Log in", "password": "Password", "queue": "Approval queue",
           "threads": "Threads and promises", "approve": "Approve and send",
           "digest": "Overdue"},
    "ru": {"login": "Войти", "password": "Пароль", "queue": "Черновики на одобрение",
           "threads": "Переписки и обещания", "approve": "Одобрить и отправить",
           "digest": "Просрочено"},
    "ro": {"login": "Autentificare", "password": "Parola", "queue": "Ciorne de aprobat",
           "threads": "Conversații și promisiuni", "approve": "Aprobă și trimite",
           "digest": "Întârziate"},
    "es": {"login": "Iniciar sesión", "password": "Contraseña", "queue": "Borradores por aprobar",
           "threads": "Conversaciones y promesas", "approve": "Aprobar y enviar",
           "digest": "Fuera de plazo"},
}  # fmt: skip


def shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("I18N_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def no_sideways_scroll(page: Any, what: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} scrolls sideways ({overflow}px)"


def login_in(page: Any, url: str, words: dict[str, str]) -> None:
    page.goto(url + "/login")
    assert page.locator("h1").inner_text() == words["login"]
    page.get_by_label(words["password"]).fill(PASSWORD)
    page.get_by_role("button", name=words["login"]).click()
    page.wait_for_url(re.compile(r"/drafts$"))


@pytest.mark.parametrize("lang", ["en", "ru", "ro", "es"])
def test_pages_follow_the_browser_language(site, browser, tmp_path, lang):  # noqa: F811
    words = WORDS[lang]
    out = shots_dir(tmp_path)
    draft_id = site.ids["link"]
    for size, (width, height) in SIZES.items():
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale=ACCEPT[lang],
            is_mobile=size != "desktop",
        )
        try:
            page = context.new_page()
            login_in(page, site.url, words)
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").inner_text() == words["queue"]
            no_sideways_scroll(page, f"{lang} queue at {size}")
            page.screenshot(path=str(out / f"i18n-{lang}-queue-{size}.png"))
            page.goto(f"{site.url}/drafts/{draft_id}")
            assert page.get_by_role("button", name=words["approve"]).is_visible()
            no_sideways_scroll(page, f"{lang} draft at {size}")
            page.screenshot(path=str(out / f"i18n-{lang}-draft-{size}.png"))
            page.goto(f"{site.url}/threads")
            assert page.locator("h1").inner_text() == words["threads"]
            no_sideways_scroll(page, f"{lang} threads at {size}")
            page.screenshot(path=str(out / f"i18n-{lang}-threads-{size}.png"))
            page.goto(f"{site.url}/settings")
            no_sideways_scroll(page, f"{lang} settings at {size}")
            page.screenshot(path=str(out / f"i18n-{lang}-settings-{size}.png"))
        finally:
            context.close()


def test_the_language_switch_sets_a_cookie_that_wins(site, browser):  # noqa: F811
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        login_in(page, site.url, WORDS["en"])
        page.goto(f"{site.url}/threads")
        page.get_by_label("Language").select_option("ro")
        page.get_by_role("button", name="Change").click()
        expect(page.locator("html")).to_have_attribute("lang", "ro")  # waits, with a deadline
        assert page.url.endswith("/threads")  # back on the same page
        assert page.locator("h1").inner_text() == WORDS["ro"]["threads"]
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["mailwatch_lang"]["value"] == "ro"
        assert cookies["mailwatch_lang"]["httpOnly"] is True
        # a later page speaks Romanian too
        page.goto(f"{site.url}/drafts")
        assert page.locator("h1").inner_text() == WORDS["ro"]["queue"]
        assert page.get_by_label("Limba").input_value() == "ro"
        # the switch is a form like the others: without the CSRF token nothing changes
        refused = context.request.post(
            f"{site.url}/language", form={"language": "es", "back": "/drafts"}, max_redirects=0
        )
        assert refused.status == 403
        assert "token" in refused.text()
        page.goto(f"{site.url}/drafts")
        assert page.locator("html").get_attribute("lang") == "ro"
        # an unknown language is refused with one clear line
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        bad = context.request.post(
            f"{site.url}/language", form={"language": "xx", "csrf_token": token}, max_redirects=0
        )
        assert bad.status == 400
    finally:
        context.close()


def test_the_digest_html_in_each_language_in_chromium(site, browser, tmp_path):  # noqa: F811
    out = shots_dir(tmp_path)
    with site.harness.factory() as session:
        english = build_digest(session, site.harness.settings, datetime.now(UTC))
    assert english.overdue_count >= 1
    for lang, words in WORDS.items():
        with site.harness.factory() as session:
            digest = build_digest(session, site.harness.settings, datetime.now(UTC), language=lang)
        html = render_html(digest, queue_url=f"{site.url}/drafts")
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            try:
                page = context.new_page()
                page.set_content(html)
                assert page.locator("html").get_attribute("lang") == lang
                assert page.locator("h2").first.inner_text().startswith(words["digest"]) or (
                    page.get_by_role("heading", name=re.compile(words["digest"])).count() == 1
                )
                page.screenshot(path=str(out / f"i18n-{lang}-digest-{size}.png"), full_page=True)
            finally:
                context.close()


def test_errors_speak_the_interface_language(site, browser):  # noqa: F811
    """The one error handler runs inside the language middleware: a missing page's title and a
    refused action's flash line are in the reader's language (the domain's reason stays as the
    service wrote it)."""
    context = browser.new_context(locale=ACCEPT["ru"])
    try:
        page = context.new_page()
        login_in(page, site.url, WORDS["ru"])
        missing = page.goto(f"{site.url}/threads/999999")
        assert missing is not None and missing.status == 404
        assert page.locator("main h1").inner_text() == "Не найдено"
        assert page.locator("html").get_attribute("lang") == "ru"

        draft_id = site.drafts.create("closing", site.threads["link"], datetime.now(UTC)).draft[
            "id"
        ]
        site.drafts.reject(draft_id, datetime.now(UTC))
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        refused = context.request.post(
            f"{site.url}/drafts/{draft_id}",
            form={"csrf_token": token, "action": "approve"},
            headers={"Accept-Language": ACCEPT["ru"]},  # as the browser's own form would send
            max_redirects=0,
        )
        assert refused.status == 303
        page.goto(f"{site.url}/drafts/{draft_id}")
        assert page.locator(".flash").count() == 1
        # the service's reason is translated too, the status in words
        assert (
            page.locator(".flash")
            .inner_text()
            .startswith(f"Не одобрено: черновик {draft_id}: отклонён; одобрить можно только")
        )
    finally:
        context.close()


# Each setting's help on the settings page, per language: (key, help's start, unit or note shown).
SETTINGS_WORDS = {
    "ru": ("REPLY_SLA", "За какое время клиент должен получить ответ", "писем в минуту",
           "Обработчики"),
    "ro": ("REPLY_SLA", "În cât timp trebuie să primească clientul un răspuns", "mesaje pe minut",
           "Procese de lucru"),
    "es": ("REPLY_SLA", "En cuánto tiempo debe recibir respuesta un cliente",
           "mensajes por minuto", "Procesos de trabajo"),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["ru", "ro", "es"])
def test_the_settings_page_explains_each_setting_in_the_language(site, browser, lang):  # noqa: F811
    """The settings' help (the SETTINGS table's, English in config.py and the docs) is shown in
    the interface language; the key names stay as they are written in .env."""
    key, help_start, unit, workers = SETTINGS_WORDS[lang]
    context = browser.new_context(locale=ACCEPT[lang])
    try:
        page = context.new_page()
        login_in(page, site.url, WORDS[lang])
        page.goto(f"{site.url}/settings")
        row = page.locator("dl.settings > div").filter(
            has=page.locator("dt", has_text=re.compile(f"^{key}$"))
        )
        expect(row).to_have_count(1)
        text = row.locator("dd").inner_text()
        assert help_start in text, text
        assert "How soon a client must get an answer" not in text
        body = page.locator("main").inner_text()
        assert unit in body  # SEND_RATE's unit after its value
        assert page.locator("#workers-h").inner_text() == workers
        # no help text left in English
        left = [s.key for s in SETTINGS if s.help in body]
        assert left == [], f"help still in English on the {lang} page: {left}"
        for name in ("DATABASE_URL", "REPLY_SLA", "UI_LANGUAGE", "SEND_RATE"):
            assert page.locator("dt", has_text=re.compile(f"^{name}$")).count() >= 1
    finally:
        context.close()
