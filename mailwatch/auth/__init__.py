"""OAuth2 for mail access: tokens for XOAUTH2 (MSAL device code / client credentials, or a
command) and the `mailwatch auth` commands. See docs/outlook.md.

The names below are loaded on first use (PEP 562): `mailwatch --help` imports
``mailwatch.cli.auth``, which must not pull in the token code and the IMAP client with it.
"""

from __future__ import annotations

from typing import Any

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


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mailwatch.auth import tokens  # lazy: msal and requests load only when a token is used

        return getattr(tokens, name)
    raise AttributeError(f"module 'mailwatch.auth' has no attribute {name!r}")
