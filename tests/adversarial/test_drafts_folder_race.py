"""Issue #16, attack 2: a draft put into the Drafts folder, sent by the user from their mail
client, then approved in mailwatch before the next reconciliation: one copy only.

Real Dovecot, real aiosmtpd, the real CLI. Before the fix the outbox looked in Sent only for
retries, so the approval sent a second copy to the client.
"""

from __future__ import annotations

import json

from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env


def test_sent_from_outlook_then_approved_in_mailwatch_sends_nothing(
    imap_user, smtp_server, tmp_path
):
    server, user = imap_user.server, imap_user.username
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices", sender="John Carter <john@client.test>", msgid="<p@client.test>"
        ),
    )
    env = write_env(
        tmp_path,
        imap_user,
        drafts_to_mailbox="true",
        sender_name="Ion Rusu",
        signature="Ion Rusu",
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="none",
    )
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    threads = json.loads(mailwatch(env, "threads", "--json").stdout)
    made = mailwatch(env, "draft", "acknowledgment", str(threads[0]["id"]), "--json")
    assert made.returncode == 0, made.stderr
    (draft,) = json.loads(made.stdout)

    # Outlook sends it (edited, with its own new Message-ID); no sync runs in between.
    server.append(
        user,
        "Sent Items",
        make_msg(
            subject="RE: Prices",
            sender=f"Ion Rusu <{user}>",
            to="John Carter <john@client.test>",
            in_reply_to="<p@client.test>",
            body="Dear John, the prices follow tomorrow. Ion\n",
        ),
    )
    approved = mailwatch(env, "drafts", "approve", str(draft["id"]), "--json")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    (row,) = json.loads(approved.stdout)
    assert row["status"] == "sent"
    assert "mail client" in (row["last_error"] or "")
    assert smtp_server.attempts == 0 and smtp_server.received == []


def test_published_but_not_sent_elsewhere_goes_out_once(imap_user, smtp_server, tmp_path):
    server, user = imap_user.server, imap_user.username
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices", sender="John Carter <john@client.test>", msgid="<p@client.test>"
        ),
    )
    env = write_env(
        tmp_path,
        imap_user,
        drafts_to_mailbox="true",
        sender_name="Ion Rusu",
        signature="Ion Rusu",
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="none",
    )
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    threads = json.loads(mailwatch(env, "threads", "--json").stdout)
    (draft,) = json.loads(
        mailwatch(env, "draft", "acknowledgment", str(threads[0]["id"]), "--json").stdout
    )
    approved = mailwatch(env, "drafts", "approve", str(draft["id"]), "--json")
    (row,) = json.loads(approved.stdout)
    assert row["status"] == "sent"
    assert len(smtp_server.received) == 1
