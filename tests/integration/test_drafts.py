"""Drafts through the CLI on mail synced from a real Dovecot: create, edit, approve, reject."""

from __future__ import annotations

import base64
import json
from email.header import Header

from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env

THREAD_INDEX = "AdkGq2rjmE8eQ7lsR0mD6H1Q5V7i0w=="


def json_out(env, *args: str):
    result = mailwatch(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _setup(imap_user, tmp_path, raw: bytes, **extra: str):
    imap_user.server.append(imap_user.username, "INBOX", raw)
    env = write_env(
        tmp_path,
        imap_user,
        sender_name="Ion Rusu",
        signature="Ion Rusu\\nSales manager, Acme SRL\\n+373 22 000 000",
        timezone="Europe/Chisinau",
        **extra,
    )
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (thread,) = json_out(env, "threads", "--json")
    return env, thread


def test_acknowledgment_in_russian_with_threading_headers(imap_user, tmp_path):
    raw = make_msg(
        subject=Header("Макет буклета", "utf-8").encode(),
        sender=f"{Header('Гладков Виктор Семенович', 'utf-8').encode()} <v.gladkov@client.test>",
        msgid="<maket-1@client.test>",
        references="<start@client.test>",
        headers={"Thread-Index": THREAD_INDEX, "Thread-Topic": "Maket"},
        body="Добрый день! Пришлите, пожалуйста, макет буклета. Когда будет готово?\n",
    )
    env, thread = _setup(imap_user, tmp_path, raw)
    assert thread["language"] == "ru"
    (draft,) = json_out(env, "draft", "acknowledgment", str(thread["id"]), "--json")
    assert draft["status"] == "pending"
    assert draft["kind"] == "acknowledgment" and draft["language"] == "ru"
    assert draft["subject"] == "Re: Макет буклета"
    assert draft["body_text"].startswith("Виктор Семенович, добрый день!")
    assert "Sales manager, Acme SRL" in draft["body_text"]
    assert draft["to"] == "Гладков Виктор Семенович <v.gladkov@client.test>"
    assert draft["in_reply_to"] == "<maket-1@client.test>"
    assert draft["references"] == ["<start@client.test>", "<maket-1@client.test>"]
    assert draft["message_id"].startswith("<") and draft["message_id"].endswith(">")
    assert draft["from"] == f"Ion Rusu <{imap_user.username}>"
    codes = {f["code"]: f["level"] for f in draft["etiquette"]}
    assert codes["greeting"] == "ok" and codes["signature"] == "ok"

    # One pending draft per thread and kind: asking again returns the same draft.
    again = mailwatch(env, "draft", "acknowledgment", str(thread["id"]))
    assert again.returncode == 0
    assert f"already exists: draft {draft['id']}" in again.stderr
    (shown,) = json_out(env, "drafts", "show", str(draft["id"]), "--json")
    assert shown["message_id"] == draft["message_id"]  # fixed at creation
    assert [d["id"] for d in json_out(env, "drafts", "list", "--json")] == [draft["id"]]


def test_thread_index_continues_the_outlook_conversation(imap_user, tmp_path):
    from sqlalchemy import create_engine, text

    raw = make_msg(
        subject="Offer",
        sender="John Carter <john@client.test>",
        msgid="<o1@client.test>",
        headers={"Thread-Index": THREAD_INDEX},
    )
    env, thread = _setup(imap_user, tmp_path, raw)
    (draft,) = json_out(env, "draft", "decline", str(thread["id"]), "--json")
    engine = create_engine(f"sqlite:///{tmp_path / 'mw.db'}")
    with engine.connect() as connection:
        index = connection.execute(
            text("select thread_index from drafts where id = :id"), {"id": draft["id"]}
        ).scalar_one()
    engine.dispose()
    raw_index = base64.b64decode(index)
    assert raw_index[:22] == base64.b64decode(THREAD_INDEX)
    assert len(raw_index) == 27
    assert "cannot take it on" in draft["body_text"]


def test_hostile_names_and_subjects_stay_data(imap_user, tmp_path):
    hostile_subject = "{{ 7*7 }} {% for x in y %}\r\nBcc: victim@evil.test"
    raw = make_msg(
        subject=Header(hostile_subject, "utf-8").encode(),
        sender=f"{Header('Eve {{ config }}' + chr(13) + chr(10) + 'Bcc: x@evil.test', 'utf-8').encode()} <eve@client.test>",
        body="Hello, what are your prices?\n",
    )
    env, thread = _setup(imap_user, tmp_path, raw)
    (draft,) = json_out(env, "draft", "acknowledgment", str(thread["id"]), "--json")
    for field in ("subject", "to", "from"):
        assert "\r" not in draft[field] and "\n" not in draft[field], field
    assert "{{ 7*7 }}" in draft["subject"]  # shown literally, never evaluated
    assert "49" not in draft["subject"]
    assert "evil.test" not in draft["to"].replace("Bcc: x@evil.test", "")  # only ever a name
    assert draft["to"].endswith("<eve@client.test>")
    assert "{{" not in draft["body_text"] or "{{ config }}" in draft["body_text"]


def test_edit_approve_reject_and_the_renegotiation_rules(imap_user, tmp_path):
    raw = make_msg(subject="Samples", sender="John Carter <john@client.test>")
    env, thread = _setup(imap_user, tmp_path, raw)
    tid = str(thread["id"])

    refused = mailwatch(env, "draft", "renegotiation", tid, "--new-date", "2026-12-10")
    assert refused.returncode == 2 and "no open promise" in refused.stderr
    added = mailwatch(env, "promise", "add", tid, "--due", "2026-12-01", "--text", "samples")
    assert added.returncode == 0, added.stderr
    missing_date = mailwatch(env, "draft", "renegotiation", tid)
    assert missing_date.returncode == 2 and "--new-date" in missing_date.stderr
    (reneg,) = json_out(env, "draft", "renegotiation", tid, "--new-date", "2026-12-10", "--json")
    assert "1 December" in reneg["body_text"] and "10 December" in reneg["body_text"]

    body = tmp_path / "body.txt"
    body.write_text("Dear John,\n\nthe samples leave on 10 December.\n\nKind regards,\nIon Rusu\n")
    (edited,) = json_out(
        env, "drafts", "edit", str(reneg["id"]), "--body-file", str(body), "--json"
    )
    assert edited["edited"] is True
    assert edited["body_text"].startswith("Dear John,")
    assert edited["status"] == "pending"

    approved = mailwatch(env, "drafts", "approve", str(reneg["id"]), "--no-send", "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)[0]["status"] == "approved"
    again = mailwatch(env, "drafts", "edit", str(reneg["id"]), "--body-file", str(body))
    assert again.returncode == 2 and "only pending drafts change" in again.stderr

    (ack,) = json_out(env, "draft", "acknowledgment", tid, "--json")
    (rejected,) = json_out(env, "drafts", "reject", str(ack["id"]), "--json")
    assert rejected["status"] == "rejected"
    statuses = {
        d["id"]: d["status"] for d in json_out(env, "drafts", "list", "--status", "all", "--json")
    }
    assert statuses == {reneg["id"]: "approved", ack["id"]: "rejected"}
    # without --status: the drafts that need you, the same rows in the table and in JSON
    needing = json_out(env, "drafts", "list", "--json")
    assert [d["id"] for d in needing] == [reneg["id"]]
    table = mailwatch(env, "drafts", "list")
    assert "the drafts that need you (1)" in table.stdout
    # A rejected acknowledgment frees the slot: a new one can be written.
    (fresh,) = json_out(env, "draft", "acknowledgment", tid, "--json")
    assert fresh["id"] != ack["id"]
    bad = mailwatch(env, "draft", "greeting", tid)
    assert bad.returncode == 2 and "unknown kind" in bad.stderr
    assert mailwatch(env, "drafts", "show", "4242").returncode == 2


def test_follow_up_answers_our_own_last_message(imap_user, tmp_path):
    imap_user.server.append(
        imap_user.username,
        "Sent Items",
        make_msg(
            subject="Our proposal",
            sender=f"Sales <{imap_user.username}>",
            to="María López <maria@cliente.test>",
            msgid="<prop@example.com>",
            body="Estimada María:\n\nle envío nuestra propuesta.\n\nUn saludo,\nIon\n",
        ),
    )
    env = write_env(tmp_path, imap_user, sender_name="Ion Rusu", signature="Ion Rusu")
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (thread,) = json_out(env, "threads", "--json")
    assert thread["state"] == "awaiting_them"
    (draft,) = json_out(env, "draft", "follow_up", str(thread["id"]), "--json")
    assert draft["to"] == "María López <maria@cliente.test>"
    assert draft["in_reply_to"] == "<prop@example.com>"
    assert draft["subject"] == "Re: Our proposal"
    assert draft["language"] == "es"  # the client never wrote: the language we wrote in


def test_approve_sends_exactly_one_message_with_the_edited_text(imap_user, smtp_server, tmp_path):
    raw = make_msg(
        subject="Samples",
        sender="John Carter <john@client.test>",
        msgid="<samples@client.test>",
    )
    env, thread = _setup(
        imap_user,
        tmp_path,
        raw,
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="none",
        sent_copy="always",
    )
    tid = str(thread["id"])
    assert (
        mailwatch(env, "promise", "add", tid, "--due", "2026-12-01", "--text", "x").returncode == 0
    )
    (draft,) = json_out(env, "draft", "renegotiation", tid, "--new-date", "2026-12-10", "--json")
    body = tmp_path / "body.txt"
    body.write_text("Dear John,\n\nthe samples leave on 10 December, not 1 December.\n\nIon Rusu\n")
    assert (
        mailwatch(env, "drafts", "edit", str(draft["id"]), "--body-file", str(body)).returncode == 0
    )
    (sent,) = json_out(env, "drafts", "approve", str(draft["id"]), "--json")
    assert sent["status"] == "sent", sent
    (received,) = smtp_server.wait_for(1)
    message = received.message
    assert message["Message-ID"] == draft["message_id"]
    assert message["In-Reply-To"] == "<samples@client.test>"
    assert message["Subject"] == "Re: Samples"
    assert "the samples leave on 10 December" in message.get_body(("plain",)).get_content()
    # Approving again sends nothing more.
    assert mailwatch(env, "drafts", "approve", str(draft["id"])).returncode == 2
    assert len(smtp_server.received) == 1
    # A copy sits in Sent Items, and the promise moved to the new date.
    with imap_user.server.client(imap_user.username) as client:
        client.select_folder("Sent Items", readonly=True)
        assert client.search(["HEADER", "Message-ID", draft["message_id"]])
    statuses = {p["status"]: p["due_at"] for p in json_out(env, "promises", "--json")}
    assert statuses["renegotiated"].startswith("2026-12-01")
    assert statuses["open"].startswith("2026-12-10")
    # The next sync sees our message in Sent: the thread now waits for the client.
    assert mailwatch(env, "sync", "--once").returncode == 0
    assert json_out(env, "threads", "--json")[0]["state"] == "awaiting_them"
    assert len(json_out(env, "promises", "--json")) == 2  # the sent text adds no third one
