"""Fill a mailwatch store with a large, realistic mailbox: N messages in T threads.

    .venv/bin/python bench/store_gen.py --url sqlite:///big.db --messages 1000000 --threads 200000
    .venv/bin/python bench/store_gen.py --url postgresql://user:pw@host/db --messages 1000000

Rows go straight in with bulk INSERTs (the schema comes from the migrations), as the tracker
would leave them: thread states, waiting times, warning signs, a few promises and drafts. The
shape of the mailbox (all fractions are of threads, and fixed by ``--seed``):

- 2 % wait for our answer (``awaiting_us``), their client's first unanswered message spread
  over the last 2 years, so most of them are overdue (the old-backlog case of issue 17);
- 3 % are closed, snoozed or ignored by the user; the rest wait for the client or are done;
- 5 % carry a warning sign; 1 thread in 100 has a promise, 1 in 500 a pending draft.

Messages per thread follow a geometric-like spread (1 to 60) whose mean gives N / T.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from mailwatch.store.db import make_engine, upgrade  # noqa: E402
from mailwatch.store.models import Draft, Mailbox, Message, Promise, Thread  # noqa: E402

CHUNK = 20_000
OWN = "sales@example.com"
WORDS = [
    "offer",
    "price",
    "delivery",
    "contract",
    "invoice",
    "samples",
    "labels",
    "pallets",
    "quote",
    "order",
    "terms",
    "discount",
    "schedule",
    "shipment",
    "specification",
    "packaging",
    "catalogue",
    "meeting",
    "payment",
    "agreement",
]


def _counts(rng: random.Random, messages: int, threads: int) -> list[int]:
    """Messages per thread: each at least 1, the rest spread with a long tail, total exact."""
    counts = [1] * threads
    rest = messages - threads
    mean = max(rest / threads, 1e-9)
    for i in range(threads):
        if rest <= 0:
            break
        n = min(rest, min(59, int(rng.expovariate(1 / mean))))
        counts[i] += n
        rest -= n
    i = 0
    while rest > 0:  # what the tail did not place
        add = min(rest, 59 - (counts[i] - 1)) if counts[i] < 60 else 0
        counts[i] += add
        rest -= add
        i = (i + 1) % threads
    return counts


def generate(url: str, messages: int, threads: int, seed: int, now: datetime) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        mailbox_id = conn.execute(
            insert(Mailbox)
            .values(name="main", username=OWN, last_sync_at=now)
            .returning(Mailbox.id)
        ).scalar_one()
    counts = _counts(rng, messages, threads)
    span = timedelta(days=730)
    stats = {"awaiting_us": 0, "manual": 0, "signs": 0, "promises": 0, "drafts": 0}
    thread_rows: list[dict[str, Any]] = []
    plans: list[tuple[int, datetime, str, bool]] = []  # (count, first at, client, we answered)
    for t in range(threads):
        client = f"client{t % 50_000}@c{t % 9_000}.example.net"
        n = counts[t]
        # Messages 5 hours apart; the newest one is older than ``now`` (nothing from the future).
        first = now - span * rng.random() - timedelta(hours=5 * n)
        last = first + timedelta(hours=5 * (n - 1))
        roll = rng.random()
        state, waiting_since, manual = "awaiting_them", None, None
        if roll < 0.02:
            state = "awaiting_us"
            waiting_since = last
            stats["awaiting_us"] += 1
        elif roll < 0.05:
            state = "awaiting_us" if roll < 0.035 else "awaiting_them"
            waiting_since = last if state == "awaiting_us" else None
            manual = ("closed", "snoozed", "ignored")[t % 3]
            stats["manual"] += 1
        elif roll < 0.6:
            state = "closed"
        signs = None
        if rng.random() < 0.05:
            signs = [
                {"kind": "price_pressure", "evidence": "Why so expensive?", "message_id": None}
            ]
            stats["signs"] += 1
        words = " ".join(rng.choice(WORDS) for _ in range(3))
        ours_last = state != "awaiting_us"
        thread_rows.append(
            {
                "mailbox_id": mailbox_id,
                "subject": f"{words} #{t}",
                "normalized_subject": f"{words} #{t}",
                "counterpart_name": f"Client {t}",
                "counterpart_email": client,
                "first_message_at": first,
                "last_message_at": last,
                "last_inbound_at": last if not ours_last else first,
                "last_outbound_at": last if ours_last and n > 1 else None,
                "message_count": n,
                "state": state,
                "language": "en",
                "needs_reply": state == "awaiting_us",
                "needs_reply_reason": "a client asked a question",
                "waiting_since": waiting_since,
                "last_client_at": waiting_since or first,
                "signs": signs,
                "manual_state": manual,
                "manual_state_at": first if manual else None,
                "snoozed_until": now + timedelta(days=30) if manual == "snoozed" else None,
                "tracked_at": now,
            }
        )
        plans.append((n, first, client, ours_last))
    thread_ids: list[int] = []
    with engine.begin() as conn:
        for start in range(0, threads, CHUNK):
            chunk = thread_rows[start : start + CHUNK]
            conn.execute(insert(Thread), chunk)
        thread_ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM threads ORDER BY id")]
    del thread_rows

    def message_rows() -> Iterator[dict[str, Any]]:
        k = 0
        for tid, (n, first, client, ours_last) in zip(thread_ids, plans, strict=True):
            for i in range(n):
                k += 1
                outbound = (i % 2 == 1) if not ours_last or n == 1 else (i % 2 == 1 or i == n - 1)
                if not ours_last and i == n - 1:
                    outbound = False
                at = first + timedelta(hours=5 * i)
                text = (
                    "Hello, could you send us the offer? Thanks."
                    if not outbound
                    else "Dear client, here it is."
                )
                yield {
                    "mailbox_id": mailbox_id,
                    "thread_id": tid,
                    "message_key": f"<m{k}@gen.example>",
                    "message_id": f"<m{k}@gen.example>",
                    "subject": "Re: offer" if i else "offer",
                    "normalized_subject": "offer",
                    "from_name": "Sales" if outbound else "Client",
                    "from_email": OWN if outbound else client,
                    "to_addrs": [{"name": "", "email": client if outbound else OWN}],
                    "date": at,
                    "internal_date": at,
                    "direction": "outbound" if outbound else "inbound",
                    "counterpart_email": client,
                    "text_prefix": text,
                    "new_text": text,
                    "analysis_version": 1,
                    "needs_reply": not outbound,
                    "category": "own" if outbound else "client",
                    "reason": "a client asked a question",
                    "language": "en",
                }

    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in message_rows():
            batch.append(row)
            if len(batch) >= CHUNK:
                conn.execute(insert(Message), batch)
                batch = []
        if batch:
            conn.execute(insert(Message), batch)
        promises = []
        drafts = []
        for n, tid in enumerate(thread_ids):
            first = plans[n][1]
            if n % 100 == 0:
                promises.append(
                    {
                        "mailbox_id": mailbox_id,
                        "thread_id": tid,
                        "text": "We will send the offer by Friday.",
                        "made_at": first,
                        "due_at": first + timedelta(days=3),
                        "source": "detected",
                    }
                )
            if n % 500 == 0:
                drafts.append(
                    {
                        "mailbox_id": mailbox_id,
                        "thread_id": tid,
                        "kind": "acknowledgment",
                        "language": "en",
                        "status": "pending",
                        "message_id": f"<draft{n}@gen.example>",
                        "from_addr": {"name": "Sales", "email": OWN},
                        "to_addrs": [{"name": "Client", "email": plans[n][2]}],
                        "subject": "Re: offer",
                        "body_text": "Dear client, ...",
                        "created_at": now - timedelta(hours=n % 48),
                    }
                )
        if promises:
            conn.execute(insert(Promise), promises)
        if drafts:
            conn.execute(insert(Draft), drafts)
        stats["promises"], stats["drafts"] = len(promises), len(drafts)
    if engine.dialect.name == "postgresql":
        # the planner's statistics, as autovacuum would have them on a store that grew slowly
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    stats.update(
        messages=messages, threads=threads, seconds=round(time.perf_counter() - started, 1)
    )
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", required=True, help="database URL (sqlite:///... or postgresql://...)"
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.messages < args.threads:
        raise SystemExit("need at least one message per thread")
    stats = generate(args.url, args.messages, args.threads, args.seed, datetime.now(UTC))
    print(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
