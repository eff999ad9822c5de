"""Drafts: safe rendering of reply templates (sending, storage and approval build on this)."""

from mailwatch.drafts.render import (
    DraftRenderer,
    DraftTemplateError,
    UnknownDraftKind,
    render_draft,
    text_to_html,
    validate_templates,
)

__all__ = [
    "DraftRenderer",
    "DraftTemplateError",
    "UnknownDraftKind",
    "render_draft",
    "text_to_html",
    "validate_templates",
]
