"""Render draft templates safely.

* A sandboxed Jinja2 environment (``ImmutableSandboxedEnvironment``) with ``StrictUndefined``: a
  template cannot reach Python internals, change the data, or use a variable that is not there.
* Values from incoming mail (names, subjects) are passed as *data*: nothing from a message is
  ever compiled as a template, so a subject "{{ 7*7 }}" appears literally.
* Autoescape is on for ``.html.j2`` templates only.
* A ``ChoiceLoader``: the user's ``TEMPLATES_DIR`` first, so it overrides any single file, then
  the packaged ``templates/`` for the rest.
* A missing language falls back to English, and the result says so; an unknown kind, or a template
  that fails to load or render, raises :class:`DraftTemplateError` with one line naming the file.
"""

from __future__ import annotations

import html
import re
import traceback
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailwatch.core.drafting import (
    BABEL_LOCALES,
    DEFAULT_LANGUAGE,
    DRAFT_KINDS,
    DRAFT_LANGUAGES,
    DraftInputs,
    RenderedDraft,
    build_draft_inputs,
    template_context,
)
from mailwatch.errors import MailwatchError
from mailwatch.paths import data_dir

__all__ = [
    "DraftRenderer",
    "DraftTemplateError",
    "UnknownDraftKind",
    "render_draft",
    "text_to_html",
    "validate_templates",
]

_LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "ro": "Romanian", "es": "Spanish"}


class DraftTemplateError(MailwatchError):
    """A draft template cannot be found, loaded or rendered; ``str()`` is one line naming it."""


class UnknownDraftKind(DraftTemplateError, ValueError):
    """No template (and no such kind) for the kind asked for."""


def _template_file_and_line(exc: BaseException) -> tuple[str, int] | None:
    """The innermost template frame of a render error (Jinja rewrites tracebacks to them)."""
    found: tuple[str, int] | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2") and frame.lineno is not None:
            found = (frame.filename, frame.lineno)
    return found


def _tidy_text(text: str) -> str:
    """One newline style, no trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return tidy + "\n"


def text_to_html(body_text: str) -> str:
    """A minimal, escaped HTML version of a plain-text body (paragraphs and line breaks).

    For senders that want an HTML part when there is no HTML template, or when the user edited the
    text (an HTML rendered before the edit would no longer match it).
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", body_text.strip()) if p.strip()]
    parts = ["<br>\n".join(html.escape(line) for line in p.split("\n")) for p in paragraphs]
    inner = "\n".join(f"<p>{part}</p>" for part in parts)
    return f'<!DOCTYPE html>\n<html><body style="font-family: Arial, sans-serif;">\n{inner}\n</body></html>\n'


def _locale(context: Context) -> str:
    language = str(context.get("language", DEFAULT_LANGUAGE))
    return BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE])


@pass_context
def _date_filter(context: Context, value: date | datetime | None, fmt: str = "long") -> str:
    """``{{ new_at | date("full") }}``: a date in the draft's language (and mailbox timezone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        zone = ZoneInfo(str(context.get("timezone", "UTC")))
        value = value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
        value = value.date()
    return format_date(value, fmt, locale=_locale(context)).replace("\u202f", "\u00a0")


@pass_context
def _datetime_filter(context: Context, value: datetime | None, fmt: str = "medium") -> str:
    """``{{ reply_by_at | datetime("short") }}``: date and time in the draft's language and zone."""
    if value is None:
        return ""
    zone = ZoneInfo(str(context.get("timezone", "UTC")))
    value = value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    text = format_datetime(value, fmt, tzinfo=zone, locale=_locale(context))
    return text.replace("\u202f", "\u00a0")


class DraftRenderer:
    """Renders :class:`DraftInputs` with the user's templates over the packaged ones."""

    def __init__(self, templates_dir: Path | None = None, *, packaged_dir: Path | None = None):
        self.user_dir = Path(templates_dir) if templates_dir is not None else None
        self.packaged_dir = packaged_dir if packaged_dir is not None else data_dir("templates")
        self._user_loader = (
            FileSystemLoader(str(self.user_dir)) if self.user_dir is not None else None
        )
        self._packaged_loader = FileSystemLoader(str(self.packaged_dir))
        loaders: list[BaseLoader] = [self._packaged_loader]
        if self._user_loader is not None:
            loaders.insert(0, self._user_loader)
        self.env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(
                enabled_extensions=("html.j2", "htm.j2", "html", "htm"),
                disabled_extensions=(),
                default_for_string=False,
                default=False,
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=True,
        )
        self.env.filters["date"] = _date_filter
        self.env.filters["datetime"] = _datetime_filter

    # -- lookup ---------------------------------------------------------------------------------

    def source_of(self, name: str) -> str | None:
        """The file a template name resolves to (the user's first), or None if there is none."""
        for loader in (self._user_loader, self._packaged_loader):
            if loader is None:
                continue
            try:
                _source, filename, _uptodate = loader.get_source(self.env, name)
            except TemplateNotFound:
                continue
            return filename
        return None

    def choose_language(self, kind: str, language: str) -> tuple[str, str | None]:
        """(language used, fallback note or None) for ``kind`` in ``language``."""
        if self.source_of(f"{kind}/{language}.txt.j2") is not None:
            return language, None
        if self.source_of(f"{kind}/{DEFAULT_LANGUAGE}.txt.j2") is None:
            if kind not in DRAFT_KINDS:
                raise UnknownDraftKind(
                    f"unknown draft kind {kind!r} (kinds: {', '.join(DRAFT_KINDS)})"
                )
            raise DraftTemplateError(
                f"no template {kind}/{DEFAULT_LANGUAGE}.txt.j2 in {self._places()}"
            )
        wanted = _LANGUAGE_NAMES.get(language, repr(language))
        note = (
            f"There is no {wanted} template for {kind}; the draft is in English "
            f"(add {kind}/{language}.txt.j2 to the templates directory to change that)."
        )
        return DEFAULT_LANGUAGE, note

    def _places(self) -> str:
        places = [str(self.packaged_dir)]
        if self.user_dir is not None:
            places.insert(0, str(self.user_dir))
        return " or ".join(places)

    # -- rendering ------------------------------------------------------------------------------

    def render_template(self, name: str, context: dict[str, object]) -> str:
        """Render one template; any failure becomes a :class:`DraftTemplateError` naming the file."""
        where = self.source_of(name) or name
        try:
            template = self.env.get_template(name)
            return template.render(context)
        except TemplateSyntaxError as exc:
            filename = exc.filename or where
            raise DraftTemplateError(
                f"template error in {filename}, line {exc.lineno}: {exc.message}"
            ) from None
        except TemplateNotFound as exc:
            raise DraftTemplateError(
                f"template error in {where}: it uses {exc.name!r}, which is not in {self._places()}"
            ) from None
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            found = _template_file_and_line(exc)
            at = f"{found[0]}, line {found[1]}" if found else where
            raise DraftTemplateError(f"template error in {at}: {exc}") from None

    def render(self, inputs: DraftInputs) -> RenderedDraft:
        """Render the plain text (and the HTML, when there is an HTML template) of a draft."""
        language, note = self.choose_language(inputs.kind, inputs.language)
        context = template_context(inputs, language)
        text_name = f"{inputs.kind}/{language}.txt.j2"
        html_name = f"{inputs.kind}/{language}.html.j2"
        used = [self.source_of(text_name) or text_name]
        body_text = _tidy_text(self.render_template(text_name, context))
        body_html: str | None = None
        html_source = self.source_of(html_name)
        if html_source is not None:
            body_html = self.render_template(html_name, context)
            used.append(html_source)
        return RenderedDraft(
            kind=inputs.kind,
            language=language,
            requested_language=inputs.language,
            subject=str(context["subject"]),
            body_text=body_text,
            body_html=body_html,
            fallback_note=note,
            is_reply=bool(context["is_reply"]),
            addressee_name=(inputs.full_name or inputs.greeting_name)
            if inputs.greeting_name_used
            else None,
            signature_lines=inputs.signature_lines,
            templates=tuple(used),
            neutral_reason=inputs.neutral_reason,
            greeting=str(context["greeting"]),
        )


def render_draft(inputs: DraftInputs, templates_dir: Path | None = None) -> RenderedDraft:
    """Render one draft with the packaged templates, overridden by ``templates_dir``."""
    return DraftRenderer(templates_dir).render(inputs)


def validate_templates(templates_dir: Path | None = None) -> list[str]:
    """Render every kind x language with sample values; the problems found, one line each.

    For start-up or ``mailwatch check``: a broken override in ``TEMPLATES_DIR`` is reported
    before a draft needs it.
    """
    renderer = DraftRenderer(templates_dir)
    problems: list[str] = []
    sample: dict[str, Any] = {
        "reply_by": datetime(2030, 3, 14, 15, 0),
        "old_date": date(2030, 3, 13),
        "new_date": date(2030, 3, 17),
        "original_date": date(2030, 3, 12),
    }
    for kind in DRAFT_KINDS:
        for language in DRAFT_LANGUAGES:
            inputs = build_draft_inputs(
                kind,
                language=language,
                thread_subject="Sample",
                counterpart_email="client@example.com",
                counterpart_name="Client Sample",
                sender_name="Sender",
                signature="Sender\n+1 555 0100",
                about="proposal" if kind == "follow_up" else None,
                **sample,
            )
            try:
                renderer.render(inputs)
            except DraftTemplateError as exc:
                problems.append(str(exc))
    return problems
