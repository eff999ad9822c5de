"""OAuth2 for mail access: tokens for XOAUTH2 (MSAL device code / client credentials, or a
command) and the `mailwatch auth` commands. See docs/outlook.md."""

from mailwatch.auth.tokens import (
    APP_SCOPES,
    DELEGATED_SCOPES,
    TokenError,
    TokenProvider,
    imap_provider,
    invalidate_cached,
    provider_for,
    smtp_provider,
    token_source,
)

__all__ = [
    "APP_SCOPES",
    "DELEGATED_SCOPES",
    "TokenError",
    "TokenProvider",
    "imap_provider",
    "invalidate_cached",
    "provider_for",
    "smtp_provider",
    "token_source",
]
