"""Real servers (Dovecot, PostgreSQL) and a link-cutting TCP proxy for the test-suite.

Why real servers: mailwatch's hard problems (UIDVALIDITY changes, flag changes made by
another client, capability differences between Dovecot and Exchange Online, links that die
mid-FETCH) only show up against a real IMAP implementation. Everything here runs on
loopback in a private temp dir and cleans up after itself.

The pytest fixtures that wrap these classes live in ``tests/conftest.py``.
"""
