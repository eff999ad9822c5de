"""Links from the digest to the web page's approval queue, signed so the page can trust them.

With ``WEB_SECRET`` set, a draft link carries ``?t=<token>``: an itsdangerous
``URLSafeTimedSerializer`` signature of ``{"draft": id}`` (salt :data:`LINK_SALT`) with the
time it was made, so the web page can check both that mailwatch wrote it and that it has not
expired (:func:`verify_draft_token`). Without a secret the link is plain and the page's own
login protects it.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "LINK_MAX_AGE",
    "LINK_SALT",
    "draft_link",
    "draft_token",
    "public_base",
    "verify_draft_token",
]

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


def public_base(public_url: str, web_bind: str) -> str:
    """The web page's address as a reader's browser reaches it: ``PUBLIC_URL`` when set, else
    ``http://`` + ``WEB_BIND``, never a wildcard (0.0.0.0 or :: become localhost)."""
    if public_url:
        return public_url.rstrip("/")
    host, _, port = web_bind.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def draft_link(base: str, draft_id: int, secret: str = "") -> str:
    """``{base}/drafts/{id}``, with ``?t=<token>`` when a secret is set. ``base`` is
    :func:`public_base` (a bare ``HOST:PORT`` is accepted and made one)."""
    if not base.startswith(("http://", "https://")):
        base = public_base("", base)
    url = f"{base}/drafts/{int(draft_id)}"
    if secret:
        url += "?t=" + draft_token(secret, draft_id)
    return url
