"""What a scheduler claim costs on PostgreSQL, next to a worker heartbeat (its peer: the
coordination every worker already does every LEASE_TTL / 3).

    .venv/bin/python -m bench.claims [--rounds 500] [--workers 3]

Starts a private PostgreSQL 15 (as the test suite does), migrates it, registers ``--workers``
live workers, then times, per slot: every worker asking for the slot (one wins, the others
lose) plus the winner's ``finish``; and, for the peer, one heartbeat transaction. Prints
median and 95th percentile in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from mailwatch.service.workers import heartbeat
from mailwatch.store import claims
from mailwatch.store.db import make_engine, session_factory, upgrade
from tests.servers.postgres import PostgresServer


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    with PostgresServer() as server:
        url = server.create_database()
        engine = make_engine(url)
        upgrade(engine)
        factory = session_factory(engine)
        owners = [f"bench-host:{n}:worker{n}" for n in range(args.workers)]
        ttl = timedelta(minutes=10)
        for owner in owners:
            heartbeat(factory, owner, ttl, mailboxes=(), scheduler=True, web=None, fingerprint={})
        start = datetime(2026, 11, 23, tzinfo=UTC)
        slot_times, beat_times = [], []
        for n in range(args.rounds):
            slot = start + timedelta(seconds=30 * n)
            began = time.perf_counter()
            outcomes = [claims.claim(factory, "outbox", slot, owner) for owner in owners]
            winner = owners[outcomes.index("won")]
            claims.finish(factory, "outbox", slot, winner)
            slot_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            heartbeat(
                factory, owners[0], ttl, mailboxes=(), scheduler=True, web=None, fingerprint={}
            )
            beat_times.append(time.perf_counter() - began)
        print(f"one slot, {args.workers} workers asking + finish: {_ms(slot_times)}")
        print(f"per claim: {_ms([t / (args.workers + 1) for t in slot_times])}")
        print(f"peer, one heartbeat transaction: {_ms(beat_times)}")
        engine.dispose()


if __name__ == "__main__":
    main()
