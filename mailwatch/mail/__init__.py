"""The mail transports: one IMAP connection (``imap``), SMTP submission (``smtp``) and the SMTP
check of ``mailwatch check`` (``smtp_check``).

Pure transport: they know servers, sockets, TLS, XOAUTH2 and what a server's answer means, and
nothing of the store, the outbox or the service. ``sync/``, ``send/``, ``drafts/`` and
``digest/`` build on them; this package imports none of them.
"""
