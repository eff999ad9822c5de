"""DRAFTS_TO_MAILBOX: drafts approved from the user's own mail client, through real Dovecot."""

from __future__ import annotations

import json

from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env


def json_out(env, *args: str):
    result = mailwatch(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _drafts_folder(imap_user) -> dict[int, dict]:
    with imap_user.server.client(imap_user.username) as client:
        client.select_folder("Drafts", readonly=True)
        uids = client.search(["ALL"])
        if not uids:
            return {}
        return client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER]"])


def _delete_from_drafts(imap_user, uid: int) -> None:
    with imap_user.server.client(imap_user.username) as client:
        client.select_folder("Drafts")
        client.add_flags([uid], [b"\\Deleted"])
        client.expunge()


def test_a_draft_sent_or_deleted_from_the_mail_client(imap_user, smtp_server, tmp_path):
    server, user = imap_user.server, imap_user.username
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices", sender="John Carter <john@client.test>", msgid="<p@client.test>"
        ),
    )
    server.append(
        user,
        "INBOX",
        make_msg(subject="Catalogue", sender="Ana Pop <ana@client.test>", msgid="<c@client.test>"),
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
    threads = {t["subject"]: t["id"] for t in json_out(env, "threads", "--json")}

    (ack,) = json_out(env, "draft", "acknowledgment", str(threads["Prices"]), "--json")
    (decline,) = json_out(env, "draft", "decline", str(threads["Catalogue"]), "--json")
    in_folder = _drafts_folder(imap_user)
    assert len(in_folder) == 2
    by_id = {}
    for uid, data in in_folder.items():
        assert b"\\Draft" in data[b"FLAGS"]
        header = data[b"BODY[HEADER]"].decode()
        for draft in (ack, decline):
            if draft["message_id"] in header:
                by_id[draft["id"]] = uid
                assert f"In-Reply-To: {draft['in_reply_to']}" in header
    assert set(by_id) == {ack["id"], decline["id"]}

    # The user edits and sends the acknowledgment from Outlook: it leaves Drafts and a reply
    # (with Outlook's own new Message-ID) lands in Sent Items.
    _delete_from_drafts(imap_user, by_id[ack["id"]])
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
    # The decline is deleted: the user said no.
    _delete_from_drafts(imap_user, by_id[decline["id"]])
    assert mailwatch(env, "sync", "--once").returncode == 0
    statuses = {d["id"]: d for d in json_out(env, "drafts", "list", "--status", "all", "--json")}
    assert statuses[ack["id"]]["status"] == "sent"
    assert statuses[decline["id"]]["status"] == "rejected"
    assert statuses[decline["id"]]["last_error"] == "deleted from the Drafts folder"
    states = {t["subject"]: t["state"] for t in json_out(env, "threads", "--json")}
    assert states["Prices"] == "awaiting_them"
    assert smtp_server.received == []  # mailwatch itself sent nothing

    # Approved in mailwatch instead: sent by mailwatch and taken out of Drafts.
    (again,) = json_out(env, "draft", "acknowledgment", str(threads["Catalogue"]), "--json")
    assert len(_drafts_folder(imap_user)) == 1
    (approved,) = json_out(env, "drafts", "approve", str(again["id"]), "--json")
    assert approved["status"] == "sent"
    assert mailwatch(env, "sync", "--once").returncode == 0
    assert _drafts_folder(imap_user) == {}
    assert len(smtp_server.received) == 1
