"""The catalogs are complete and current: every msgid translated (not empty, not fuzzy, the
placeholders kept, every plural form filled), and no string in the code that the catalogs lack
(a fresh ``pybabel extract`` compared with each .po)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mailwatch.i18n import LOCALE_DIR, UI_LANGUAGES, ngettext, translations, use_language

ROOT = Path(__file__).resolve().parents[2]
LANGS = [lang for lang in UI_LANGUAGES if lang != "en"]


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang: str):
    cat = catalog(lang)
    problems = []
    for message in cat:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        if not all(strings) or (message.pluralizable and len(strings) != cat.num_plurals):
            problems.append(f"untranslated: {key!r}")
    # Babel's own checks: the same %(name)s placeholders, the right number of plural forms.
    for message, errors in cat.check():
        problems += [f"{message.id!r}: {error}" for error in errors]
    assert not problems, f"{lang}: " + "; ".join(problems)


def test_russian_and_romanian_have_three_plural_forms():
    assert catalog("ru").num_plurals == 3 and catalog("ro").num_plurals == 3
    forms = {}
    for lang, numbers in (("ru", (1, 2, 5, 21, 22, 25, 11)), ("ro", (1, 2, 19, 20, 101, 120))):
        with use_language(lang):
            forms[lang] = [ngettext("%(num)d thread", "%(num)d threads", n) for n in numbers]
    assert forms["ru"] == [
        "1 переписка", "2 переписки", "5 переписок",
        "21 переписка", "22 переписки", "25 переписок", "11 переписок",
    ]  # fmt: skip
    assert forms["ro"] == [
        "1 conversație", "2 conversații", "19 conversații", "20 de conversații",
        "101 conversații", "120 de conversații",
    ]  # fmt: skip


def test_catalogs_are_current_with_the_code(tmp_path: Path):
    """`make i18n` was run after the last string changed (it is one command: run it)."""
    pot = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "--no-location", "--omit-header",
         "-k", "N_", "-k", "N_plural:1,2", "-o", str(pot), "mailwatch"],
        cwd=ROOT, check=True, timeout=120,
    )  # fmt: skip
    with pot.open("rb") as handle:
        fresh = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert len(fresh) > 50
    for lang in LANGS:
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(lang) if m.id}
        missing, stale = sorted(fresh - have), sorted(have - fresh)
        assert not missing and not stale, (
            f"{lang}: run `make i18n` and translate; new: {missing[:5]}, gone: {stale[:5]}"
        )


def test_a_missing_mo_is_compiled_from_the_po_at_first_use(tmp_path: Path, monkeypatch):
    """A fresh clone or `pip install -e .` has no .mo: the .po is read instead."""
    import mailwatch.i18n as i18n

    for lang in ("ru",):
        target = tmp_path / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes(
            (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").read_bytes()
        )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        assert not (tmp_path / "ru" / "LC_MESSAGES" / "messages.mo").exists()
        with use_language("ru"):
            assert i18n.gettext("none") == "нет"
    finally:
        translations.cache_clear()
