"""bench/reads.py against PostgreSQL: a private cluster (tests/servers/postgres.py), filled by
bench/store_gen.py, then measured. Run as root (the cluster runs as the postgres user)::

    .venv/bin/python bench/pg_reads.py --messages 1000000 --threads 200000 --repeat 10
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--peer", help="bench/reads.py --peer: the old code's checkout")
    parser.add_argument("--rounds", type=int, default=2, help="bench/reads.py --rounds")
    args = parser.parse_args()

    import reads
    import store_gen

    from tests.servers.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        url = server.create_database("mailwatch_bench")
        print(store_gen.generate(url, args.messages, args.threads, 17, datetime.now(UTC)))
        peer = ["--peer", args.peer] if args.peer else []
        rounds = ["--rounds", str(args.rounds)]
        return reads.main(["--url", url, "--repeat", str(args.repeat), *rounds, *peer])
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
