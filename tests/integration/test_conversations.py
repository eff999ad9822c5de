"""Conversation tracking end to end: real Dovecot, the real sync, the CLI a user runs.

Dates are fixed in November 2026 (the 20th is a Friday, the 23rd a Monday) and read with
``--now``, so business-time figures are exact.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mailwatch.store.db import make_engine, upgrade
from mailwatch.store.models import Base
from mailwatch.views.context import View
from mailwatch.views.promises import list_promises
from mailwatch.views.threads import list_threads
from tests.helpers import Harness, make_msg, make_settings, sqlite_url
from tests.integration.test_cli import mailwatch, write_env

US = "Sales <sales@example.com>"
CLIENT = "Ana Popescu <ana@client.test>"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def put(account, folder: str, raw: bytes) -> None:
    account.server.append(account.username, folder, raw)


@pytest.fixture(params=["full", "o365"])
def account(request: pytest.FixtureRequest):
    return request.getfixturevalue("imap_user" if request.param == "full" else "imap_user_o365")


def json_out(env, *args: str):
    result = mailwatch(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_reply_found_only_in_sent_answers_the_client(account, tmp_path):
    """An Outlook reply: no In-Reply-To, no References, "RE:" subject, only in Sent Items."""
    put(
        account,
        "INBOX",
        make_msg(
            subject="Offer for 40 printers",
            sender=CLIENT,
            msgid="<q1@client.test>",
            date=utc(20, 17, 55),
            headers={"X-Auto-Response-Suppress": "All"},  # Outlook sets this on ordinary mail
        ),
    )
    h = Harness(make_settings(account, sqlite_url(tmp_path)))
    try:
        h.sync()
        with h.factory() as session:
            (row,) = [
                t.to_json() for t in list_threads(session, utc(23, 9), view=View.of(h.settings))
            ]
        assert row["state"] == "awaiting_us"
        assert row["needs_reply"] is True
        assert "ana@client.test" in row["needs_reply_reason"]
        put(
            account,
            "Sent Items",
            make_msg(
                subject="RE: Offer for 40 printers",
                sender=US,
                to=CLIENT,
                msgid="<r1@example.com>",
                date=utc(23, 9, 30),
                headers={"Thread-Topic": "Offer for 40 printers"},
                body="Dear Ana, the offer is attached.\n",
            ),
        )
        h.sync()
        with h.factory() as session:
            (row,) = [
                t.to_json() for t in list_threads(session, utc(23, 10), view=View.of(h.settings))
            ]
        assert row["message_ids"] == ["<q1@client.test>", "<r1@example.com>"]
        assert row["state"] == "awaiting_them"
        assert row["needs_reply"] is False
        # Friday 17:55 -> Monday 09:30 (TIMEZONE=UTC, 09:00-18:00): 5 + 30 business minutes.
        assert row["first_response_business_minutes"] == 35
        # As of Monday 09:00 the reply had not been written yet: the client was still waiting.
        with h.factory() as session:
            (then,) = [
                t.to_json() for t in list_threads(session, utc(23, 9), view=View.of(h.settings))
            ]
        assert then["state"] == "awaiting_us"
        assert then["message_ids"] == ["<q1@client.test>"]
    finally:
        h.close()


def test_answered_flag_set_from_a_phone_counts_as_answered(imap_user, tmp_path):
    uid = imap_user.server.append(
        imap_user.username, "INBOX", make_msg(sender=CLIENT, msgid="<q2@client.test>")
    )
    env = write_env(tmp_path, imap_user, flag_scan_interval="1m")
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    assert [t["state"] for t in json_out(env, "threads", "--json")] == ["awaiting_us"]
    imap_user.server.set_flags(imap_user.username, "INBOX", uid, [b"\\Answered"])
    assert mailwatch(env, "sync", "--once").returncode == 0
    (row,) = json_out(env, "threads", "--json")
    assert row["state"] == "awaiting_them"
    assert "\\Answered" in row["needs_reply_reason"]
    assert json_out(env, "threads", "--state", "awaiting_us", "--json") == []


def test_overdue_is_counted_in_business_time(imap_user, tmp_path):
    put(imap_user, "INBOX", make_msg(sender=CLIENT, msgid="<q3@client.test>", date=utc(20, 16)))
    env = write_env(tmp_path, imap_user, reply_sla="4h")
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    # Two business hours on Friday, none over the weekend.
    sunday = json_out(env, "threads", "--json", "--now", "2026-11-22T23:00:00+00:00")
    assert sunday[0]["overdue"] is False
    assert sunday[0]["overdue_business_minutes"] == 0
    assert (
        json_out(
            env, "threads", "--state", "overdue", "--json", "--now", "2026-11-22T23:00:00+00:00"
        )
        == []
    )
    monday = json_out(
        env, "threads", "--state", "overdue", "--json", "--now", "2026-11-23T12:00:00+00:00"
    )
    assert [t["message_ids"] for t in monday] == [["<q3@client.test>"]]
    assert monday[0]["overdue"] is True
    assert monday[0]["overdue_business_minutes"] == 60
    assert monday[0]["reply_due_at"] == "2026-11-23T11:00:00+00:00"
    table = mailwatch(env, "threads", "--now", "2026-11-23T12:00:00+00:00")
    assert table.returncode == 0 and "1h 00m over" in table.stdout


def test_automatic_bulk_and_internal_mail_never_waits_for_us(imap_user, tmp_path):
    put(
        imap_user,
        "INBOX",
        make_msg(
            subject="Automatic reply: Offer",
            sender=CLIENT,
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    put(
        imap_user,
        "INBOX",
        make_msg(
            subject="Our November newsletter",
            sender="News <news@vendor.test>",
            headers={"List-Id": "<news.vendor.test>", "Precedence": "bulk"},
        ),
    )
    put(imap_user, "INBOX", make_msg(subject="Lunch?", sender="Ion <ion@example.com>"))
    env = write_env(tmp_path, imap_user, internal_domains="example.com")
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    rows = json_out(env, "threads", "--json")
    assert len(rows) == 3
    assert {r["state"] for r in rows} == {"closed"}
    assert not any(r["needs_reply"] for r in rows)
    reasons = " | ".join(r["needs_reply_reason"] for r in rows)
    assert "Auto-Submitted" in reasons and "bulk" in reasons and "internal" in reasons


def test_a_settings_change_reanalyses_stored_mail(imap_user, tmp_path):
    put(imap_user, "INBOX", make_msg(sender="Ion <ion@partner.test>"))
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    assert [t["state"] for t in json_out(env, "threads", "--json")] == ["awaiting_us"]
    env2 = write_env(tmp_path, imap_user, internal_domains="partner.test")
    assert mailwatch(env2, "sync", "--once").returncode == 0
    (row,) = json_out(env2, "threads", "--json")
    assert row["state"] == "closed", (
        row["state"],
        row["needs_reply_reason"],
        row.get("answered_by"),
    )
    assert "internal" in row["needs_reply_reason"]


def test_client_language_requested_deadline_and_warning_signs(imap_user, tmp_path):
    put(
        imap_user,
        "INBOX",
        make_msg(
            subject="Presupuesto",
            sender="Jorge Martínez <jorge@cliente.test>",
            date=utc(23, 9),
            body=(
                "Buenos días:\n\n¿Nos puede enviar el presupuesto antes del 4 de diciembre? "
                "Es demasiado caro, necesitamos un descuento del veinte por ciento.\n\n"
                "Saludos,\nJorge Martínez\n"
            ),
        ),
    )
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (row,) = json_out(env, "threads", "--json", "--now", "2026-11-23T10:00:00+00:00")
    assert row["language"] == "es"
    assert row["requested_by"] is not None and row["requested_by"].startswith(
        "2026-12-03"
    )  # "before the 4th"
    assert [s["kind"] for s in row["warning_signs"]] == ["price_pressure"]
    assert "descuento" in row["warning_signs"][0]["evidence"]


def test_promises_detected_kept_missed_and_by_hand(imap_user, tmp_path):
    put(
        imap_user,
        "INBOX",
        make_msg(subject="Proposal", sender=CLIENT, msgid="<p0@client.test>", date=utc(23, 8)),
    )
    put(
        imap_user,
        "Sent Items",
        make_msg(
            subject="Re: Proposal",
            sender=US,
            to=CLIENT,
            msgid="<p1@example.com>",
            in_reply_to="<p0@client.test>",
            date=utc(23, 10),  # Monday
            body=(
                "Dear Ana,\n\nthank you for your request. I will send you the proposal by "
                "Wednesday.\n\nBest regards,\nSales\n\n> Could you send a proposal?\n"
            ),
        ),
    )
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (promise,) = json_out(env, "promises", "--json", "--now", "2026-11-24T10:00:00+00:00")
    assert promise["due_at"] == "2026-11-25T18:00:00+00:00"  # the end of Wednesday's work day
    assert promise["status"] == "open"
    assert promise["source"] == "detected"
    assert promise["message_id"] == "<p1@example.com>"
    assert "proposal by Wednesday" in promise["text"]
    (missed,) = json_out(env, "promises", "--json", "--now", "2026-11-26T10:00:00+00:00")
    assert missed["status"] == "missed"
    assert json_out(env, "promises", "--json", "--now", "2026-11-23T09:00:00+00:00") == []

    # We write to the thread again on Tuesday: the promise is kept.
    put(
        imap_user,
        "Sent Items",
        make_msg(
            subject="Re: Proposal",
            sender=US,
            to=CLIENT,
            msgid="<p2@example.com>",
            in_reply_to="<p1@example.com>",
            date=utc(24, 15),
            body="Dear Ana,\n\nplease find the proposal attached.\n",
        ),
    )
    assert mailwatch(env, "sync", "--once").returncode == 0
    (kept,) = json_out(env, "promises", "--json", "--now", "2026-11-26T10:00:00+00:00")
    assert kept["status"] == "kept"

    # A promise made on the phone, recorded by hand, then marked kept.
    thread_id = promise["thread_id"]
    added = mailwatch(
        env, "promise", "add", str(thread_id), "--due", "2026-12-02", "--text", "call back"
    )
    assert added.returncode == 0, added.stderr
    rows = json_out(env, "promises", "--json", "--status", "open")
    (manual,) = [r for r in rows if r["source"] == "manual"]
    assert manual["due_at"] == "2026-12-02T18:00:00+00:00"
    assert manual["thread_id"] == thread_id
    assert mailwatch(env, "promise", "done", str(manual["id"])).returncode == 0
    (done,) = [r for r in json_out(env, "promises", "--json") if r["id"] == manual["id"]]
    assert done["status"] == "kept"
    assert mailwatch(env, "promise", "done", "999").returncode == 2
    bad = mailwatch(env, "promise", "add", str(thread_id), "--due", "soon", "--text", "x")
    assert bad.returncode == 2 and "--due" in bad.stderr


def test_no_promise_from_quoted_text_or_negation(imap_user, tmp_path):
    put(
        imap_user,
        "Sent Items",
        make_msg(
            subject="Re: Samples",
            sender=US,
            to=CLIENT,
            date=utc(23, 10),
            body=(
                "Dear Ana,\n\nI can't promise Friday, I will let you know.\n\n"
                "On Mon, Ana wrote:\n> I will send the samples by Thursday.\n"
            ),
        ),
    )
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    assert json_out(env, "promises", "--json") == []


def test_close_snooze_ignore_and_reopen_by_the_client(imap_user, tmp_path):
    put(imap_user, "INBOX", make_msg(sender=CLIENT, msgid="<s1@client.test>", subject="Thanks"))
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (row,) = json_out(env, "threads", "--json")
    tid = str(row["id"])

    assert mailwatch(env, "thread", "close", tid).returncode == 0
    (row,) = json_out(env, "threads", "--json")
    assert row["state"] == "closed" and row["needs_reply"] is False
    assert "closed by the user" in row["needs_reply_reason"]
    assert json_out(env, "threads", "--state", "closed", "--json")[0]["id"] == int(tid)

    until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert mailwatch(env, "thread", "snooze", tid, "--until", until).returncode == 0
    (row,) = json_out(env, "threads", "--json")
    assert row["state"] == "snoozed"
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert json_out(env, "threads", "--json", "--now", later)[0]["state"] == "awaiting_us"
    past = mailwatch(env, "thread", "snooze", tid, "--until", "2020-01-01")
    assert past.returncode == 2 and "not in the future" in past.stderr

    assert mailwatch(env, "thread", "close", tid).returncode == 0
    # The client writes again after we closed it: it needs an answer again.
    put(
        imap_user,
        "INBOX",
        make_msg(
            sender=CLIENT,
            subject="Re: Thanks",
            in_reply_to="<s1@client.test>",
            date=datetime.now(UTC) + timedelta(minutes=1),
            body="One more question: do you deliver to Balti?\n",
        ),
    )
    assert mailwatch(env, "sync", "--once").returncode == 0
    now = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    (row,) = json_out(env, "threads", "--json", "--now", now)
    assert row["state"] == "awaiting_us"

    assert mailwatch(env, "thread", "ignore", tid).returncode == 0
    assert json_out(env, "threads", "--json", "--now", now)[0]["state"] == "ignored"
    assert mailwatch(env, "thread", "reopen", tid).returncode == 0
    assert json_out(env, "threads", "--json", "--now", now)[0]["state"] == "awaiting_us"
    missing = mailwatch(env, "thread", "close", "424242")
    assert missing.returncode == 2 and "no thread with id 424242" in missing.stderr


def test_tracking_on_postgres(imap_user, pg_url):
    put(imap_user, "INBOX", make_msg(sender=CLIENT, msgid="<pg@client.test>", date=utc(23, 8)))
    put(
        imap_user,
        "Sent Items",
        make_msg(
            subject="Re: Price request",
            sender=US,
            to=CLIENT,
            in_reply_to="<pg@client.test>",
            date=utc(23, 10),
            body="Dear Ana,\n\nI'll send you the price list tomorrow.\n",
        ),
    )
    h = Harness(make_settings(imap_user, pg_url))
    try:
        h.sync()
        with h.factory() as session:
            (row,) = [
                t.to_json() for t in list_threads(session, utc(23, 11), view=View.of(h.settings))
            ]
            (promise,) = [
                p.to_json() for p in list_promises(session, utc(23, 11), View.of(h.settings))
            ]
        assert row["state"] == "awaiting_them"
        assert row["first_response_business_minutes"] == 60
        assert promise["due_at"] == "2026-11-24T18:00:00+00:00"
        assert promise["thread_id"] == row["id"]
        # Running the tracker again changes nothing and duplicates nothing.
        assert h.tracker.refresh().analysed == 0
        with h.factory() as session:
            assert len(list_promises(session, utc(23, 11))) == 1
    finally:
        h.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_match_the_models(backend, tmp_path, request):
    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_waiting_threads_are_rechecked_when_a_flag_may_have_changed(imap_user, tmp_path):
    uid = imap_user.server.append(
        imap_user.username, "INBOX", make_msg(sender=CLIENT, msgid="<f@client.test>")
    )
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        h.sync()
        imap_user.server.set_flags(imap_user.username, "INBOX", uid, [b"\\Answered"])
        assert h.syncer.sync_once().flags_changed == 1  # CONDSTORE sees it at once
        # A pass that reports no flag change skips the waiting threads: still awaiting us.
        h.tracker.refresh(recheck_waiting=False)
        with h.factory() as session:
            assert [r.state for r in list_threads(session, datetime.now(UTC))] == ["awaiting_us"]
        h.tracker.refresh(recheck_waiting=True)
        with h.factory() as session:
            assert [r.state for r in list_threads(session, datetime.now(UTC))] == ["awaiting_them"]
    finally:
        h.close()
