"""Issue 12 end to end: drafts through the real CLI on mail synced from Dovecot say true dates,
pick their kind from the client's intent, greet in the proper form, sign in the client's
language, and a colleague's copied answer answers the thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import Header

from mailwatch.config import load_settings
from mailwatch.core.drafting import answer_by, format_when
from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env
from tests.integration.test_drafts import json_out

SIGNATURES = {
    "signature": "Elena Rusu\\nSales manager, Nordpack\\n+373 22 000 000",
    "signature_ro": "Elena Rusu\\nManager vânzări, Nordpack\\n+373 22 000 000",
    "signature_es": "Elena Rusu\\nResponsable de ventas, Nordpack\\n+373 22 000 000",
}


def _setup(imap_user, tmp_path, *messages: tuple[str, bytes], **extra: str):
    for folder, raw in messages:
        imap_user.server.append(imap_user.username, folder, raw)
    env = write_env(
        tmp_path,
        imap_user,
        sender_name="Elena Rusu",
        timezone="Europe/Chisinau",
        **SIGNATURES,
        **extra,
    )
    assert mailwatch(env, "init").returncode == 0
    synced = mailwatch(env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    return env


def test_acknowledgment_promises_our_date_not_the_clients_delivery_date(imap_user, tmp_path):
    raw = make_msg(
        subject="Labels for the 2027 season",
        sender="John Carter <john@client.test>",
        body="Good morning Elena,\n\nWe need 20,000 labels 10x7 cm delivered by 19 March 2027. "
        "Could you send us a quote?\n\nJohn\n",
    )
    env = _setup(imap_user, tmp_path, ("INBOX", raw))
    (thread,) = json_out(env, "threads", "--json")
    assert thread["requested_by"] is not None and thread["requested_by"].startswith("2027-03-1")
    now = datetime.now(UTC)
    result = mailwatch(env, "draft", "--auto", str(thread["id"]), "--json")
    assert result.returncode == 0, result.stderr
    assert "intent request" in result.stderr
    (draft,) = __import__("json").loads(result.stdout)
    assert draft["kind"] == "acknowledgment"
    body = draft["body_text"]
    cal = load_settings(env).calendar
    ours = answer_by(now, cal, 1)
    assert ours - now < timedelta(days=5)
    assert f"full answer by {format_when(ours, 'en', cal.tz_name, now)}" in body
    # the client's date is acknowledged as theirs, after ours
    assert "I have noted that you need it by" in body and "2027" in body.split("noted")[1]
    assert body.startswith("Dear John,\n")
    assert {f["code"]: f["level"] for f in draft["etiquette"]}["greeting"] == "ok"


def test_refusal_gets_a_closing_and_thanks_only_gets_nothing(imap_user, tmp_path):
    refusal = make_msg(
        subject="Re: Oferta cutii",
        sender="Ana Popescu <ana.popescu@firma.test>",
        msgid="<ref-1@firma.test>",
        body="Bună ziua,\n\nVă mulțumim pentru ofertă, dar nu mai avem nevoie de cutii.\n\nAna Popescu\n",
    )
    thanks = make_msg(
        subject="Factura 118",
        sender="Ion Lupu <ion.lupu@other.test>",
        msgid="<thx-1@other.test>",
        body="Mulțumesc, am primit!\n",
    )
    env = _setup(imap_user, tmp_path, ("INBOX", refusal), ("INBOX", thanks))
    threads = {t["subject"]: t for t in json_out(env, "threads", "--state", "all", "--json")}
    assert threads["Factura 118"]["needs_reply"] is False
    assert "thanks only" in threads["Factura 118"]["needs_reply_reason"]
    none = mailwatch(env, "draft", "--auto", str(threads["Factura 118"]["id"]))
    assert none.returncode == 0 and "no reply needed" in none.stderr

    (closing,) = json_out(env, "draft", "--auto", str(threads["Re: Oferta cutii"]["id"]), "--json")
    assert closing["kind"] == "closing" and closing["language"] == "ro"
    body = closing["body_text"]
    # gender-guesser: Ana is a woman's name; the title goes with the surname
    assert body.startswith("Bună ziua, doamnă Popescu,\n")
    assert "Manager vânzări, Nordpack" in body and "Sales manager" not in body
    assert "lucrez deja" not in body and "mă ocup deja" not in body
    assert all(f["level"] != "fail" for f in closing["etiquette"])


def test_late_renegotiation_apologises(imap_user, tmp_path):
    raw = make_msg(
        subject="Presupuesto etiquetas",
        sender=f"{Header('Javier Gómez', 'utf-8').encode()} <javier@bodega.test>",
        body="Buenos días:\n\n¿Podrían enviarnos el presupuesto de 40.000 etiquetas?\n\n"
        "Quedo atento.\nJavier Gómez\n",
    )
    env = _setup(imap_user, tmp_path, ("INBOX", raw))
    (thread,) = json_out(env, "threads", "--json")
    tid = str(thread["id"])
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    added = mailwatch(env, "promise", "add", tid, "--due", yesterday, "--text", "presupuesto")
    assert added.returncode == 0, added.stderr
    (draft,) = json_out(env, "draft", "renegotiation", tid, "--new-date", later, "--json")
    body = draft["body_text"]
    assert body.startswith("Estimado Sr. Gómez:\n")  # "Quedo atento": the client's own words
    assert "disculpas por el retraso" in body and "a más tardar el" in body
    assert "antelación" not in body and "acordado" not in body
    assert "Responsable de ventas" in body
    # a new date already past is refused before anything is queued
    assert mailwatch(env, "drafts", "reject", str(draft["id"])).returncode == 0
    refused = mailwatch(env, "draft", "renegotiation", tid, "--new-date", yesterday)
    assert refused.returncode == 2 and "later than old_date" in refused.stderr
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="minutes")
    refused = mailwatch(env, "draft", "renegotiation", tid, "--new-date", an_hour_ago)
    assert refused.returncode == 2 and "already past" in refused.stderr, refused.stderr
    assert [d["status"] for d in json_out(env, "drafts", "list", "--status", "all", "--json")] == [
        "rejected"
    ]


def test_a_colleagues_copied_answer_answers_the_thread(imap_user, tmp_path):
    question = make_msg(
        subject="Stretch film",
        sender="Tom Hale <tom@harbour.test>",
        msgid="<q-1@harbour.test>",
        date=datetime.now(UTC) - timedelta(hours=3),
        body="Hi, can you deliver 40 rolls of stretch film next week?\n",
    )
    colleague = make_msg(
        subject="Re: Stretch film",
        sender="Ion Rusu <ion.rusu@nordpack.test>",
        to="Tom Hale <tom@harbour.test>",
        msgid="<a-1@nordpack.test>",
        in_reply_to="<q-1@harbour.test>",
        references="<q-1@harbour.test>",
        date=datetime.now(UTC) - timedelta(hours=1),
        body="Hi Tom, yes: 40 rolls leave on Tuesday. Ion\n",
        headers={"Cc": imap_user.username},
    )
    env = _setup(
        imap_user,
        tmp_path,
        ("INBOX", question),
        ("INBOX", colleague),
        internal_domains="nordpack.test",
    )
    (thread,) = json_out(env, "threads", "--state", "all", "--json")
    assert thread["state"] == "awaiting_them" and thread["needs_reply"] is False
    assert thread["answered_by"] == "ion.rusu@nordpack.test"
    assert "colleague ion.rusu@nordpack.test" in thread["needs_reply_reason"]


def test_gender_from_how_we_greeted_her_in_our_sent_mail(imap_user, tmp_path):
    ours = make_msg(
        subject="Fisa tehnica",
        sender=f"Elena Rusu <{imap_user.username}>",
        to="Nelea Pascaru <nelea.pascaru@agroterra.test>",
        msgid="<fisa-1@nordpack.test>",
        date=datetime.now(UTC) - timedelta(days=2),
        body="Bună ziua, doamnă Pascaru,\n\nVă trimit în atașament fișa tehnică a peliculei.\n",
    )
    theirs = make_msg(
        subject="Re: Fisa tehnica",
        sender="Nelea Pascaru <nelea.pascaru@agroterra.test>",
        msgid="<fisa-2@agroterra.test>",
        in_reply_to="<fisa-1@nordpack.test>",
        references="<fisa-1@nordpack.test>",
        date=datetime.now(UTC) - timedelta(hours=2),
        body="Bună ziua,\n\nMulțumesc pentru fișă. Ne puteți trimite și prețul pentru 3 tone?\n\n"
        "Nelea Pascaru\n",
    )
    env = _setup(imap_user, tmp_path, ("Sent Items", ours), ("INBOX", theirs))
    (thread,) = json_out(env, "threads", "--json")
    (draft,) = json_out(env, "draft", "--auto", str(thread["id"]), "--json")
    # "Nelea" is in no name list: the gender comes from our own earlier greeting
    assert draft["body_text"].startswith("Bună ziua, doamnă Pascaru,\n")
    assert draft["kind"] == "acknowledgment" and draft["language"] == "ro"
    assert "cel târziu pe" in draft["body_text"]
