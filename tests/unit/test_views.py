"""The typed read models: real aware datetimes inside, the JSON contract (docs/cli.md) outside.

``ThreadView.to_json()`` / ``PromiseView.to_json()`` are what ``threads --json`` and
``promises --json`` print; their key names, order and time format are a contract.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.store_gen import generate
from mailwatch.core import timefmt
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.tracking import STATES as CORE_STATES
from mailwatch.core.warning_signs import SignKind, WarningSign
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.models import Draft
from mailwatch.views.context import View, iso_text
from mailwatch.views.drafts import DraftView
from mailwatch.views.promises import PROMISE_STATUSES, PromiseStatus, PromiseView, list_promises
from mailwatch.views.threads import (
    STATES,
    THREAD_FILTERS,
    Counterpart,
    ThreadState,
    ThreadView,
    list_threads,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TZ_NAME = "Europe/Chisinau"
VIEW = View(BusinessCalendar(tz_name=TZ_NAME), timedelta(hours=4))
ROOT = Path(__file__).resolve().parents[2]

THREAD_KEYS = [
    "id",
    "mailbox",
    "subject",
    "counterpart",
    "state",
    "needs_reply",
    "needs_reply_reason",
    "overdue",
    "overdue_business_minutes",
    "waiting_business_minutes",
    "waiting_since",
    "reply_due_at",
    "last_inbound_at",
    "last_outbound_at",
    "first_response_business_minutes",
    "language",
    "message_ids",
    "warning_signs",
    "requested_by",
    "answered_by",
    "snoozed_until",
    "message_count",
    "last_message_at",
]
PROMISE_KEYS = [
    "id",
    "thread_id",
    "message_id",
    "text",
    "due_at",
    "status",
    "source",
    "made_at",
    "done_at",
]
THREAD_TIMES = [
    "waiting_since",
    "reply_due_at",
    "last_inbound_at",
    "last_outbound_at",
    "requested_by",
    "snoozed_until",
    "last_message_at",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('views') / 'views.db'}"
    stats = generate(url, messages=1200, threads=400, seed=11, now=NOW)
    assert stats["promises"] > 0 and stats["signs"] > 0 and stats["manual"] > 0
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def _thread(**changes: object) -> ThreadView:
    tz = ZoneInfo(TZ_NAME)
    base = ThreadView(
        id=7,
        mailbox="main",
        subject="Quotation Q-2291",
        counterpart=Counterpart("Greg Hollis", "greg@quickbuild.example"),
        state=ThreadState.AWAITING_US,
        needs_reply_reason="a client asked",
        overdue=True,
        overdue_business_minutes=12,
        waiting_business_minutes=252,
        waiting_since=datetime(2026, 11, 27, 19, 45, 3, 250_000, tzinfo=tz),
        reply_due_at=datetime(2026, 11, 30, 12, 45, tzinfo=tz),
        last_inbound_at=datetime(2026, 11, 27, 19, 45, 3, 250_000, tzinfo=tz),
        last_outbound_at=None,
        first_response_business_minutes=None,
        language="en",
        message_ids=("<q2291@quickbuild.example>",),
        warning_signs=(WarningSign(SignKind.PRICE_PRESSURE, "why so expensive", "<q@x>"),),
        requested_by=None,
        answered_by=None,
        snoozed_until=None,
        message_count=1,
        last_message_at=datetime(2026, 11, 27, 19, 45, 3, 250_000, tzinfo=tz),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_thread_json_is_the_contract_shape() -> None:
    data = _thread().to_json()
    assert list(data) == THREAD_KEYS
    assert data["counterpart"] == {"name": "Greg Hollis", "email": "greg@quickbuild.example"}
    assert data["state"] == "awaiting_us" and type(data["state"]) is str
    assert data["needs_reply"] is True
    # ISO 8601 with the team's offset, to the second (the microseconds stay in the model)
    assert data["waiting_since"] == "2026-11-27T19:45:03+02:00"
    assert data["last_outbound_at"] is None
    assert data["message_ids"] == ["<q2291@quickbuild.example>"]
    assert data["warning_signs"] == [
        {"kind": "price_pressure", "evidence": "why so expensive", "message_id": "<q@x>"}
    ]
    json.dumps(data)  # plain JSON types only: no default=str needed
    assert _thread(state=ThreadState.CLOSED).to_json()["needs_reply"] is False


def test_promise_json_is_the_contract_shape() -> None:
    tz = ZoneInfo(TZ_NAME)
    promise = PromiseView(
        id=3,
        thread_id=1,
        message_id="<a1@example.com>",
        text="I will send the offer by Friday",
        due_at=datetime(2026, 11, 27, 18, 0, tzinfo=tz),
        status=PromiseStatus.OPEN,
        source="detected",
        made_at=datetime(2026, 11, 25, 9, 30, 15, 999_999, tzinfo=tz),
        done_at=None,
    )
    data = promise.to_json()
    assert list(data) == PROMISE_KEYS
    assert data["due_at"] == "2026-11-27T18:00:00+02:00"
    assert data["made_at"] == "2026-11-25T09:30:15+02:00"
    assert data["status"] == "open" and type(data["status"]) is str
    assert json.loads(json.dumps(data)) == data


def test_enums_match_the_core_and_the_cli_choices() -> None:
    assert STATES == CORE_STATES
    assert (*CORE_STATES, "overdue", "all") == THREAD_FILTERS
    assert PROMISE_STATUSES == ("open", "kept", "missed", "renegotiated")


def test_read_threads_hold_aware_times_in_the_team_zone(store) -> None:
    with store() as session:
        threads = list_threads(session, NOW, "all", VIEW)
    assert len(threads) > 100
    seen_states = set()
    for thread in threads:
        seen_states.add(thread.state)
        assert isinstance(thread.state, ThreadState)
        for name in THREAD_TIMES:
            value = getattr(thread, name)
            if value is not None:
                assert value.tzinfo is not None, name
                assert value.utcoffset() == value.astimezone(VIEW.calendar.tz).utcoffset()
        data = thread.to_json()
        assert list(data) == THREAD_KEYS
        for name in THREAD_TIMES:
            # the JSON text is the old ``View.iso`` of the same instant, byte for byte
            assert data[name] == VIEW.iso(getattr(thread, name))
        assert data["message_count"] == len(data["message_ids"])
        assert (data["waiting_since"] is not None) <= (thread.state is ThreadState.AWAITING_US)
        json.dumps(data)
    assert ThreadState.AWAITING_US in seen_states and len(seen_states) >= 3


def test_read_promises_hold_aware_times_and_statuses(store) -> None:
    with store() as session:
        promises = list_promises(session, NOW, VIEW)
        open_ones = list_promises(session, NOW, VIEW, "open")
    assert promises
    assert {p.id for p in open_ones} == {p.id for p in promises if p.status is PromiseStatus.OPEN}
    for promise in promises:
        assert promise.due_at.tzinfo is not None and promise.made_at <= NOW
        data = promise.to_json()
        assert list(data) == PROMISE_KEYS
        assert data["due_at"] == VIEW.iso(promise.due_at)
        assert datetime.fromisoformat(data["due_at"]) == promise.due_at.replace(microsecond=0)
    assert [p.due_at for p in promises] == sorted(p.due_at for p in promises)


def test_filters_are_subsets_of_all(store) -> None:
    with store() as session:
        everything = list_threads(session, NOW, "all", VIEW, with_message_ids=False)
        for state in STATES:
            got = list_threads(session, NOW, state, VIEW, with_message_ids=False)
            assert {t.id for t in got} == {t.id for t in everything if t.state == state}
        overdue = list_threads(session, NOW, "overdue", VIEW, with_message_ids=False)
    assert {t.id for t in overdue} == {t.id for t in everything if t.overdue}
    minutes = [t.waiting_business_minutes for t in overdue]
    assert minutes == sorted(minutes, reverse=True)


zones = st.sampled_from(["UTC", "Europe/Chisinau", "America/New_York", "Asia/Kolkata"])
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@given(instants, zones)
def test_model_times_print_as_the_old_iso_text(moment: datetime, zone: str) -> None:
    """Held in the team's zone and printed by ``iso_text``: the same text ``View.iso`` made
    from the stored instant (what ``store/queries.py`` printed)."""
    view = View(BusinessCalendar(tz_name=zone))
    held = view.at(moment)
    # the same instant (compared in UTC: PEP 495 makes a time in a DST fold compare unequal
    # to every time in another zone, e.g. 1999-10-31 02:00 in Chisinau)
    assert held is not None and held.astimezone(UTC) == moment
    assert iso_text(held) == timefmt.iso(moment, view.calendar.tz) == view.iso(moment)
    assert datetime.fromisoformat(iso_text(held) or "") == moment.replace(microsecond=0)


def _imports(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("layer", ["core", "store", "track"])
def test_layers_below_do_not_import_the_views(layer: str) -> None:
    imported = _imports(ROOT / "mailwatch" / layer)
    assert not {m for m in imported if m == "mailwatch.views" or m.startswith("mailwatch.views.")}


DRAFT_KEYS = [
    "id", "thread_id", "kind", "language", "to", "subject", "body_text", "in_reply_to",
    "references", "status", "created_at", "message_id", "from", "to_addresses", "etiquette",
    "automatic", "edited", "new_date", "approved_at", "sent_at", "attempts", "last_error",
]  # fmt: skip


def test_draft_view_is_a_frozen_copy_with_the_contract_json() -> None:
    created = datetime(2026, 11, 30, 7, 15, 2, tzinfo=UTC)
    stored = Draft(
        id=12, thread_id=4, kind="acknowledgment", language="ro", status="pending",
        message_id="<d12@mailwatch>", from_addr={"name": "Ion Rusu", "email": "ion@sales.test"},
        to_addrs=[{"name": "Ana Popescu", "email": "ana@client.test"}, {"email": "b@client.test"}],
        subject="Re: Oferta", body_text="Stimată doamnă Popescu, ...", in_reply_to="<m1@client>",
        references=["<m0@client>", "<m1@client>"], etiquette=[{"code": "greeting", "ok": True,
        "level": "ok", "message": "greets by name"}], automatic=True, edited=False,
        created_at=created, new_date=None, approved_at=None, sent_at=None, attempts=0,
        last_error=None,
    )  # fmt: skip
    view = DraftView.of(stored)
    stored.subject = "changed after the read"
    stored.to_addrs[0]["name"] = "changed too"
    data = view.to_json()
    assert list(data) == DRAFT_KEYS
    assert data["subject"] == "Re: Oferta"  # a copy: later changes to the row do not leak in
    assert data["to"] == "Ana Popescu <ana@client.test>, b@client.test"
    assert data["from"] == "Ion Rusu <ion@sales.test>"
    assert data["created_at"] == "2026-11-30T07:15:02+00:00" and view.created_at == created
    assert data["references"] == ["<m0@client>", "<m1@client>"]
    assert json.loads(json.dumps(data)) == data
    with pytest.raises(AttributeError):
        view.status = "approved"  # type: ignore[misc]


def test_a_time_in_a_dst_fold_is_held_as_the_same_instant() -> None:
    """The example hypothesis found: the first 02:00 of 1999-10-31 in Chisinau."""
    moment = datetime(1999, 10, 30, 23, 0, tzinfo=UTC)
    held = View(BusinessCalendar(tz_name="Europe/Chisinau")).at(moment)
    assert held is not None and held.astimezone(UTC) == moment
    assert iso_text(held) == "1999-10-31T02:00:00+03:00"
