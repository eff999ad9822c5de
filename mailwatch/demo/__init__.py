"""`mailwatch demo`: the real sync path against an embedded IMAP server, with no setup at all.

A newcomer should see what mailwatch does before giving it a password. So the demo starts
pymap's in-memory IMAP server inside this process (a background thread with its own event
loop, bound to 127.0.0.1 on a free port, no TLS) and an aiosmtpd sink, APPENDs the sample
conversations from ``mailwatch/demo/data/`` over IMAP with imapclient (dated relative to now,
so "overdue" means something today), then runs exactly what ``mailwatch init`` +
``sync --once`` + ``threads`` run.

With ``MAILWATCH_DEMO_KEEP_RUNNING=1`` the server stays up and the service keeps syncing (IDLE,
or a poll every few seconds) until Ctrl-C, so another IMAP client can add mail and the table
updates.

``servers`` holds the embedded IMAP and SMTP servers, ``samples`` the sample conversations and
how they are loaded, ``console`` the run and what it prints; ``data/`` the .eml files.
"""

from __future__ import annotations

from mailwatch.demo.console import KEEP_RUNNING_ENV, demo_values, mailwatch_command, run_demo
from mailwatch.demo.samples import (
    DEMO_TIMEZONE,
    SAMPLES,
    Sample,
    load_samples,
    sample_bytes,
    sample_date,
    with_date,
)
from mailwatch.demo.servers import (
    DEMO_PASSWORD,
    DEMO_USER,
    EmbeddedImapServer,
    EmbeddedSmtpServer,
    decoded_subject,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_TIMEZONE",
    "DEMO_USER",
    "KEEP_RUNNING_ENV",
    "SAMPLES",
    "EmbeddedImapServer",
    "EmbeddedSmtpServer",
    "Sample",
    "decoded_subject",
    "demo_values",
    "load_samples",
    "mailwatch_command",
    "run_demo",
    "sample_bytes",
    "sample_date",
    "with_date",
]
