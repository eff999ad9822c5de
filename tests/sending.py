"""A sending world for the outbox tests: a Dovecot account, an aiosmtpd server, a SQLite store,
drafts put straight into it, and ``python -m mailwatch.send`` as a separate (killable) process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings
from mailwatch.send.outbox import CRASH_ENV, Outbox
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Draft, Mailbox
from tests.helpers import make_settings, sqlite_url
from tests.servers.dovecot import ImapAccount
from tests.servers.smtp import SmtpServer

CLIENT = {"name": "Viktor Petrov", "email": "client@acme.test"}


@dataclass
class Env:
    account: ImapAccount
    smtp: SmtpServer
    tmp_path: Path
    factory: sessionmaker[Session]
    mailbox_id: int
    extra: dict[str, str]

    @property
    def values(self) -> dict[str, str]:
        return {
            "smtp_host": self.smtp.host,
            "smtp_port": str(self.smtp.port),
            "smtp_security": "none",
            **self.extra,
        }

    def settings(self) -> Settings:
        return make_settings(self.account, sqlite_url(self.tmp_path), **self.values)

    def outbox(self, **kwargs: Any) -> Outbox:
        return Outbox(self.factory, self.settings(), **kwargs)

    def env_file(self) -> Path:
        settings = {
            "DATABASE_URL": sqlite_url(self.tmp_path),
            "IMAP_HOST": self.account.host,
            "IMAP_PORT": str(self.account.port),
            "IMAP_SECURITY": "none",
            "IMAP_USERNAME": self.account.username,
            "IMAP_PASSWORD": self.account.password,
            "IMAP_TIMEOUT": "10",
            **{k.upper(): v for k, v in self.values.items()},
        }
        path = self.tmp_path / "send.env"
        path.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in settings.items()))
        path.chmod(0o600)
        return path

    def add_draft(self, **overrides: Any) -> int:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "mailbox_id": self.mailbox_id,
            "kind": "acknowledgment",
            "language": "en",
            "status": "approved",
            "message_id": make_msgid(domain="example.com"),
            "from_addr": {"name": "Anna Sales", "email": self.account.username},
            "to_addrs": [CLIENT],
            "cc_addrs": [],
            "subject": "Re: Offer for 200 chairs",
            "body_text": "Viktor, good afternoon.\n\nThe offer follows by Friday.\n\nAnna\n",
            "in_reply_to": "<q2@acme.test>",
            "references": ["<q1@acme.test>", "<q2@acme.test>"],
            "approved_at": now,
        }
        values.update(overrides)
        with self.factory.begin() as session:
            draft = Draft(**values)
            session.add(draft)
            session.flush()
            return draft.id

    def draft(self, draft_id: int) -> Draft:
        with self.factory() as session:
            draft = session.get(Draft, draft_id)
            assert draft is not None
            return draft

    def sent_items(self, message_id: str | None = None) -> list[tuple[int, tuple[bytes, ...]]]:
        """(UID, flags) of the messages in Sent Items (with that Message-ID)."""
        with self.account.client() as client:
            client.select_folder("Sent Items", readonly=True)
            criteria: list[Any] = (
                ["ALL"] if message_id is None else ["HEADER", "Message-ID", message_id]
            )
            uids = client.search(criteria)
            flags = client.get_flags(uids) if uids else {}
            return [(uid, tuple(flags[uid])) for uid in sorted(uids)]

    def _command(self, args: tuple[str, ...], crash_after: str | None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
        if crash_after is not None:
            env[CRASH_ENV] = crash_after
        command = [sys.executable, "-m", "mailwatch.send", "--env-file", str(self.env_file())]
        return [*command, *args], env

    def run_send(
        self, *args: str, crash_after: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m mailwatch.send`` as a separate process (so it can be killed)."""
        command, env = self._command(args, crash_after)
        return subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=self.tmp_path, env=env
        )

    def start_send(self, *args: str) -> subprocess.Popen[str]:
        """The same, started in the background (to be killed with SIGKILL mid-send)."""
        command, env = self._command(args, None)
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.tmp_path,
            env=env,
        )


def make_env(account: ImapAccount, smtp: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    engine = make_engine(sqlite_url(tmp_path))
    upgrade(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        mailbox = Mailbox(name="main", username=account.username)
        session.add(mailbox)
        session.flush()
        mailbox_id = mailbox.id
    try:
        yield Env(account, smtp, tmp_path, factory, mailbox_id, {})
    finally:
        engine.dispose()
