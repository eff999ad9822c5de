"""``mailwatch digest`` (without ``--send``) and ``mailwatch promises`` as users run them: the
quick path prints what the Typer path prints.

As in tests/integration/test_quick_path_process.py: each command line runs twice as a real process,
once through the ``mailwatch`` entry point (the quick path: no command parser, the store read
straight through sqlite3 or psycopg) and once through the Typer app alone (the store read
through SQLAlchemy). Output, errors and exit codes must be the same, on SQLite and
PostgreSQL, on a store with the rows that fill every section of the digest; and the quick
run must not load the parser, the ORM, nor (for JSON) rich or Jinja2.
"""

from __future__ import annotations

from pathlib import Path

from bench.store_gen import generate
from tests.integration.test_digest_fast_path import NOW, awkward_rows
from tests.integration.test_quick_path_process import both_paths, run, write_env

AS_OF = NOW.isoformat()
PAST = "2026-11-26T09:00:00+02:00"  # threads changed since: re-tracked as of then

COMMAND_LINES = [
    ("digest", "--print", "--now", AS_OF),
    ("digest", "--json", "--now", AS_OF),
    ("digest", f"--now={AS_OF}"),  # no flag: printed
    ("digest", "--now", PAST, "--json", "--print"),
    ("promises", "--now", AS_OF),
    ("promises", "--json", "--now", AS_OF),
    ("promises", "--status", "missed", "--json", "--now", AS_OF),
    ("promises", f"--now={PAST}", "--status=open"),
    ("digest", "--now", "yesterday"),
    ("promises", "--status", "bogus"),
    ("promises", "--json", "--now", "2026-11-30T12:00:00"),  # no offset
]


def same_as_typer(env: Path) -> None:
    outputs = both_paths(env, COMMAND_LINES)
    printed, as_json, plain, past, promises, promises_json, missed, past_open = outputs[:8]
    for done in outputs[:8]:
        assert done.returncode == 0 and done.stderr == ""
    assert "SYNC PROBLEM" in printed.stdout and "drafts to approve" in printed.stdout
    assert plain.stdout == printed.stdout
    assert as_json.stdout.startswith("{") and '"status": "uncertain"' in as_json.stdout
    assert '"job_problems": [\n    "job ack' in as_json.stdout
    assert past.stdout.startswith("{") and past.stdout != as_json.stdout
    assert promises.stdout.count("missed") > 3 and promises.stdout.count("open") > 0
    assert promises_json.stdout.count('"id":') > missed.stdout.count('"id":') > 3
    assert "open" in past_open.stdout and "missed" not in past_open.stdout
    for failed in outputs[8:]:
        assert failed.returncode == 2 and failed.stdout == ""
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error:")


def loads_neither_parser_nor_orm(env: Path) -> None:
    never = {"sqlalchemy", "typer", "click", "jinja2", "PIL", "pydantic"}
    for args, read, table in (
        (("digest", "--json", "--now", AS_OF), "mailwatch.digest.data", False),
        (("digest", "--print", "--now", AS_OF), "mailwatch.digest.data", True),
        (("promises", "--json", "--now", AS_OF), "mailwatch.views.promises", False),
    ):
        timed = run(env, *args, importtime=True)
        assert timed.returncode == 0
        loaded = {line.rsplit("|", 1)[-1].strip() for line in timed.stderr.splitlines()}
        assert read in loaded, args  # (the read really ran here)
        tops = {m.split(".")[0] for m in loaded}
        assert tops & (never if table else never | {"rich"}) == set(), args


def store(url: str) -> None:
    generate(url, messages=1500, threads=400, seed=9, now=NOW)
    awkward_rows(url)


def test_digest_and_promises_print_what_typer_prints_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    store(url)
    env = write_env(tmp_path, url)
    same_as_typer(env)
    loads_neither_parser_nor_orm(env)


def test_digest_and_promises_print_what_typer_prints_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    store(pg_url)
    env = write_env(tmp_path, pg_url)
    same_as_typer(env)
    loads_neither_parser_nor_orm(env)
