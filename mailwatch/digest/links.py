"""Links from the digest to the web page's approval queue, signed so the page can trust them.

With ``WEB_SECRET`` set, a draft link carries ``?t=<token>``: an itsdangerous
``URLSafeTimedSerializer`` signature of ``{"draft": id}`` (salt :data:`LINK_SALT`) with the
time it was made, so the web page can check both that mailwatch wrote it and that it has not
expired (:func:`verify_draft_token`). Without a secret the link is plain and the page's own
login protects it.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["LINK_MAX_AGE", "LINK_SALT", "draft_link", "draft_token", "verify_draft_token"]

LINK_SALT = "mailwatch.digest.draft-link"
LINK_MAX_AGE = 7 * 24 * 3600  # seconds: a daily digest's links stay good for a week


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT)


def draft_token(secret: str, draft_id: int) -> str:
    return _serializer(secret).dumps({"draft": int(draft_id)})


def verify_draft_token(secret: str, token: str, draft_id: int, max_age: int = LINK_MAX_AGE) -> bool:
    """True when ``token`` was signed with ``secret`` for this draft less than ``max_age`` s ago."""
    if not secret or not token:
        return False
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except BadSignature:  # also SignatureExpired, a subclass
        return False
    return isinstance(data, dict) and data.get("draft") == int(draft_id)


def draft_link(web_bind: str, draft_id: int, secret: str = "") -> str:
    """``http://{WEB_BIND}/drafts/{id}``, with ``?t=<token>`` when a secret is set."""
    url = f"http://{web_bind}/drafts/{int(draft_id)}"
    if secret:
        url += "?t=" + draft_token(secret, draft_id)
    return url
