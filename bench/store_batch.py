"""CPU of storing a backfill: ``MailStore.save_batch`` for N messages, parsed beforehand.

The corpus is repeated with new Message-IDs (and its In-Reply-To/References renamed the same
way per copy, so conversations still thread) until N messages; they are stored in batches of
500 into a fresh SQLite database, and the CPU time of the storing alone is printed. Run it
with two codes alternately to compare them (the peer in a ``git worktree``)::

    .venv/bin/python bench/store_batch.py --messages 20000
    (cd /tmp/before && /path/to/.venv/bin/python /path/to/bench/store_batch.py --messages 20000)
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the code of the current directory (the peer's, when there)

from mailwatch.core.parse import parse_message
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.mail import FetchedMessage, MailStore

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def _renamed(message_id: str, copy: int) -> str:
    return f"<{copy}.{message_id.strip('<>')}>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--profile", action="store_true", help="print a CPU-clock profile")
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file())
    if not files:
        raise SystemExit(f"no messages under {args.corpus} (give --corpus)")
    base = [parse_message(f.read_bytes()) for f in files]
    now = datetime.now(UTC)
    fetched = []
    for n in range(args.messages):
        copy, parsed = divmod(n, len(base))[0], base[n % len(base)]
        parsed = dataclasses.replace(
            parsed,
            message_id=_renamed(parsed.message_id, n),
            references=tuple(_renamed(r, copy) for r in parsed.references),
            in_reply_to=_renamed(parsed.in_reply_to, copy) if parsed.in_reply_to else None,
        )
        arrived = now - timedelta(minutes=args.messages - n)
        fetched.append(FetchedMessage(n + 1, (), arrived, 1000, parsed))
    work = tempfile.mkdtemp(prefix="store-batch-")
    engine = make_engine(f"sqlite:///{work}/mailwatch.db")
    upgrade(engine)
    store = MailStore(session_factory(engine), frozenset({"sales@example.com"}))
    folder = store.folder(store.ensure_mailbox("main", "sales"), "INBOX", "inbox")
    profile = cProfile.Profile(time.process_time) if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for start in range(0, len(fetched), 500):
        batch = fetched[start : start + 500]
        _, folder = store.save_batch(folder, batch, checkpoint_uid=batch[-1].uid)
    if profile:
        profile.disable()
    print(
        f"{len(fetched)} messages stored: {time.process_time() - cpu:.2f} s CPU, "
        f"{time.perf_counter() - wall:.2f} s wall, load {os.getloadavg()[0]:.2f}"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
