"""How mailwatch's connections to a real PostgreSQL set their sessions: no JIT compiling on
either kind (SQLAlchemy's engine, the direct reader of a read command), and the direct
reader, which connects with psycopg2, reads the same values as SQLAlchemy's psycopg 3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Mailbox, Thread
from mailwatch.store.raw import json_from_text, open_reader, reader_of
from tests.helpers import engine_in_another_zone

NOW = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def test_no_connection_compiles_queries_and_the_direct_one_reads_in_utc(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    engine.dispose()
    engine = engine_in_another_zone(pg_url)  # the database's own zone: America/Santiago
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
            assert conn.execute(text("SHOW TimeZone")).scalar() == "America/Santiago"
        for scheme in ("postgresql+psycopg://", "postgresql+psycopg2://"):
            direct = open_reader(pg_url.replace("postgresql+psycopg://", scheme))
            assert direct is not None and direct.dialect == "postgresql"
            try:
                assert direct.scalar("SHOW jit") == "off"
                assert direct.scalar("SHOW TimeZone") == "UTC"
            finally:
                direct.close()
    finally:
        engine.dispose()


def test_the_direct_reader_reads_what_sqlalchemy_reads(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    signs = [{"kind": "complaint", "evidence": "не работает", "message_id": "<a@x>"}]
    with engine.begin() as conn:
        box = conn.execute(insert(Mailbox).values(name="INBOX").returning(Mailbox.id)).scalar()
        for i, (when, signed) in enumerate([(NOW, signs), (None, None), (NOW, [])]):
            conn.execute(
                insert(Thread).values(
                    mailbox_id=box,
                    subject=f"Re: offer {i}",
                    normalized_subject="offer",
                    counterpart_email="ana@client.example",
                    message_count=1,
                    needs_reply=False,
                    last_message_at=when,
                    waiting_since=None if when is None else when - timedelta(days=3),
                    signs=signed,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    engine.dispose()
    engine = engine_in_another_zone(pg_url)
    direct = open_reader(pg_url)
    assert direct is not None
    sql = "SELECT id, last_message_at, waiting_since, signs, subject FROM threads ORDER BY id"
    try:
        with session_factory(engine)() as session:
            via_session = reader_of(session)
            want = session.execute(
                select(
                    Thread.id,
                    Thread.last_message_at,
                    Thread.waiting_since,
                    Thread.signs,
                    Thread.subject,
                ).order_by(Thread.id)
            ).all()
            for reader in (direct, via_session):
                convert = reader.times()
                got = [
                    (
                        tid,
                        None if last is None else convert(last),
                        None if since is None else convert(since),
                        reader.json(signed),
                        subject,
                    )
                    for tid, last, since, signed, subject in reader.rows(sql)
                ]
                assert got == [tuple(row) for row in want]
                assert got[0][1] == NOW and got[0][1].tzinfo is UTC
                assert got[0][3] == signs and got[1][3] is None and got[2][3] == []
                # a JSON column read as text decodes the same on either driver
                as_text = reader.column(
                    f"SELECT {reader.json_as_text('signs')} FROM threads ORDER BY id"
                )
                assert [json_from_text(v) for v in as_text] == [signs, None, []]
            # a bound aware time compares as the instant it is, whatever its zone
            later = NOW.astimezone(datetime.now().astimezone().tzinfo) + timedelta(seconds=1)
            assert direct.column(
                "SELECT id FROM threads WHERE last_message_at < ? ORDER BY id",
                (direct.time(later),),
            ) == [want[0][0], want[2][0]]
    finally:
        direct.close()
        engine.dispose()
