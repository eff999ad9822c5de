"""Backfill benchmark: mailwatch vs mbsync pulling the same large INBOX from a private Dovecot.

Run from the project root (as root: the test Dovecot needs it)::

    .venv/bin/python bench/backfill.py --messages 20000 --rounds 3

What it does:

1. Starts a private Dovecot ("full" profile, ``tests/servers/dovecot.py``), creates one
   account and writes N messages straight into its INBOX maildir: the shared real-mail
   corpus (``--corpus DIR`` with ``ham/`` and ``spam/``; by default the project's shared corpus
   beside the repository) repeated until N. Every copy gets a fresh,
   unique Message-ID; In-Reply-To/References ids that point at corpus messages are
   rewritten to the ids of the *same* copy, so threads stay realistic. All other bytes
   are unchanged.
2. For ``--rounds`` rounds, alternately: (a) ``mailwatch sync --once`` into a fresh SQLite
   database (``mailwatch init`` first, untimed), (b) ``mbsync`` pulling INBOX into a fresh
   empty Maildir. Each is timed as a subprocess (wall clock) and its peak RSS is taken
   from ``/usr/bin/time -f %M`` (the max RSS of the child as reported by wait4()).
3. A no-change poll: ``mailwatch sync --once`` again on the last synced database; the
   "N IMAP commands" it prints is recorded.
4. Prints a table and writes ``bench/results/backfill-<timestamp>.json``.

``--cprofile`` additionally runs one untimed mailwatch backfill under cProfile (CPU-time clock,
the main process only: the analysis worker is not in it) and saves
the ``.prof`` next to the JSON (and prints the top functions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.servers

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
RESULTS_DIR = ROOT / "bench" / "results"
TIME_BIN = "/usr/bin/time"
TIME_FORMAT = "%e %U %S %M"  # wall s, user s, sys s, max RSS KiB

# ------------------------------------------------------------------------------ corpus copies

# The corpus copies (unique Message-IDs per copy) live with the tests' mail sample.
from tests.mailsample import (  # noqa: E402
    CorpusCopies,
    _split_header,
    corpus_files,
)

_DATE_FIELD = re.compile(rb"(?im)^date[ \t]*:.*(?:\r?\n[ \t].*)*")


def redate(header: bytes, when: datetime) -> bytes:
    """The header with its Date: replaced by ``when`` (inserted when there is none)."""
    value = format_datetime(when).encode()
    if _DATE_FIELD.search(header):
        return _DATE_FIELD.sub(lambda _m: b"Date: " + value, header, count=1)
    eol = b"\r\n" if b"\r\n" in header else b"\n"
    return header + eol + b"Date: " + value


def recent_dates(count: int, days: float, now: datetime) -> list[datetime]:
    """``count`` instants spread evenly over the last ``days`` (oldest first, newest an hour
    ago): message n of the corpus copies is dated at the n-th, so a reply stays after the
    message it answers within each copy."""
    span = timedelta(days=days) - timedelta(hours=1)
    step = span / max(1, count - 1)
    start = now - timedelta(days=days)
    return [(start + step * n).replace(microsecond=0) for n in range(count)]


def dated_messages(
    copies: CorpusCopies, count: int, dates: Sequence[datetime] | None
) -> Iterator[bytes]:
    """The first ``count`` copies; with ``dates``, message n gets ``dates[n]`` as its Date."""
    for n in range(count):
        raw = copies.message(n)
        if dates is not None:
            header, rest = _split_header(raw)
            raw = redate(header, dates[n]) + rest
        yield raw


# ------------------------------------------------------------------------------ measuring


@dataclass
class Run:
    tool: str
    round: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float  # the largest single process (wait4's ru_maxrss)
    returncode: int
    loadavg: tuple[float, float] = (0.0, 0.0)
    tree_rss_mb: float = 0.0  # peak of the sum over the process and its workers (sampled)
    # CPU seconds (user + system, last sample) of the main process and of its other processes
    # (the analysis workers): which one is the critical path.
    main_cpu_s: float = 0.0
    other_cpu_s: float = 0.0
    detail: dict[str, object] = field(default_factory=dict)


def _sample_tree_rss(
    pid: int, done: threading.Event, peak: list[int], cpu: dict[int, tuple[bool, float]]
) -> None:
    """The highest sum of RSS over the process and its descendants (the analysis workers),
    sampled every 0.1 s: ``time``'s max RSS is only the largest single process. ``cpu``: each
    process's CPU seconds at its last sample, and whether it is the main one (time's child)."""
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not done.wait(0.1):
        total = 0
        try:
            procs = root.children(recursive=True)
            direct = {child.pid for child in root.children()}
        except psutil.Error:
            break
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu[proc.pid] = (proc.pid in direct, times.user + times.system)
        peak[0] = max(peak[0], total)


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str], label: str) -> tuple[Run, str]:
    """Run ``cmd`` under /usr/bin/time; returns the measurements and the combined output."""
    stats = cwd / f".time-{label}"
    full = [TIME_BIN, "-f", TIME_FORMAT, "-o", str(stats), *cmd]
    # Dirty pages of the run before (mbsync's 20,000 files, mailwatch's database) are written
    # out first: otherwise the next run pays for their writeback (mbsync measured 6.6 s or
    # 11.4 s in the same hour, its system time 2.7 s or 7 s, as it followed one or the other).
    os.sync()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(
        full,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree_peak = [0]
    cpu: dict[int, tuple[bool, float]] = {}
    done = threading.Event()
    sampler = threading.Thread(target=_sample_tree_rss, args=(child.pid, done, tree_peak, cpu))
    sampler.start()
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    proc = subprocess.CompletedProcess(full, child.returncode, stdout, stderr)
    output = proc.stdout + proc.stderr
    lines = [ln for ln in stats.read_text().splitlines() if ln.strip()]
    # If the child died of a signal, time writes "Command terminated by signal" first.
    _elapsed, user, system, rss_kib = lines[-1].split()
    run = Run(
        tool="",
        round=0,
        wall_s=round(wall, 3),
        user_s=float(user),
        sys_s=float(system),
        max_rss_mb=round(int(rss_kib) / 1024, 1),
        tree_rss_mb=round(tree_peak[0] / 2**20, 1),
        main_cpu_s=round(sum(t for main, t in cpu.values() if main), 2),
        other_cpu_s=round(sum(t for main, t in cpu.values() if not main), 2),
        returncode=proc.returncode,
        # Other work on the machine skews timings: keep the 1-minute load around each run.
        loadavg=(round(load_before, 2), round(os.getloadavg()[0], 2)),
    )
    if proc.returncode != 0:
        print(f"!! {label} exited with {proc.returncode}:\n{output[-4000:]}", file=sys.stderr)
    return run, output


_REPORT_RE = re.compile(
    r"(\d+) new messages, (\d+) flag changes.*?in ([\d.]+)\s+s,\s+(\d+)\s+IMAP\s+commands", re.S
)


def parse_report(output: str) -> dict[str, object]:
    m = _REPORT_RE.search(output)
    if m is None:
        return {"parsed": False}
    return {
        "parsed": True,
        "new": int(m.group(1)),
        "flag_changes": int(m.group(2)),
        "reported_seconds": float(m.group(3)),
        "imap_commands": int(m.group(4)),
    }


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
    env["COLUMNS"] = "1000"  # rich must not wrap the one-line report
    env["TERM"] = "dumb"
    return env


# `mailwatch sync --once` parses and analyses new mail while it syncs (start_tracking: the
# tracker whose preparer does it, sharing the batches with its worker process) and refreshes
# thread tracking after the pass. --no-tracking keeps the parsing (shared with a worker the
# same way) but no analysis and no tracking pass: the sync engine alone (start-up included).
_NO_TRACKING = """
import sys
import mailwatch.cli as cli
import mailwatch.cli.sync as sync_cli
from mailwatch.track.pool import AnalysisPool, worker_count
from mailwatch.track.prepare import BatchPreparer
from mailwatch.track.tracker import analysis_settings

class ParseOnly:
    def __init__(self, cfg):
        self.settings = analysis_settings(cfg)
        self.pool = AnalysisPool(self.settings, worker_count(cfg.value("ANALYSIS_WORKERS")))
    def preparer(self):
        return BatchPreparer(self.settings, self.pool, analyse=False)
    def feed(self, mailbox_id, result):
        pass

for name in ("start_tracking", "refresh_tracking"):
    if not hasattr(sync_cli, name):
        sys.exit(f"bench --no-tracking: mailwatch.cli.sync.{name} is gone; update bench/backfill.py")
sync_cli.start_tracking = lambda cfg, factory: ParseOnly(cfg)
sync_cli.refresh_tracking = lambda cfg, factory, tracker=None, **_: tracker and tracker.pool.close()
sys.argv[0] = "mailwatch"
sys.exit(cli.main())
"""


# The main process under cProfile with a CPU-time clock: waiting for the server or for the
# worker counts nothing, and other load on the machine does not inflate the figures.
_PROFILE_CPU = """
import cProfile, sys, time
out = sys.argv[1]
sys.argv = ["mailwatch", *sys.argv[2:]]
import mailwatch.cli as cli
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    cli.main()
except SystemExit:
    pass
finally:
    profile.disable()
    profile.dump_stats(out)
"""


def mailwatch_cmd(no_tracking: bool = False) -> list[str]:
    if no_tracking:
        return [sys.executable, "-c", _NO_TRACKING]
    script = Path(sys.executable).parent / "mailwatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailwatch"]


def write_env(
    path: Path,
    account: object,
    db: Path,
    analysis_days: int | None = None,
    shipped_defaults: bool = False,
    analysis_workers: str | None = None,
) -> None:
    """``shipped_defaults``: no BACKFILL_DAYS either (a new user's first sync: 30 days)."""
    extra = [] if analysis_days is None else [f"MAILWATCH_ANALYSIS_DAYS={analysis_days}"]
    if analysis_workers is not None:
        extra.append(f"MAILWATCH_ANALYSIS_WORKERS={analysis_workers}")
    if not shipped_defaults:
        extra.append("MAILWATCH_BACKFILL_DAYS=0")
    path.write_text(
        "\n".join(
            [
                f"MAILWATCH_IMAP_HOST={account.host}",  # type: ignore[attr-defined]
                f"MAILWATCH_IMAP_PORT={account.port}",  # type: ignore[attr-defined]
                "MAILWATCH_IMAP_SECURITY=none",
                f"MAILWATCH_IMAP_USERNAME={account.username}",  # type: ignore[attr-defined]
                f"MAILWATCH_IMAP_PASSWORD={account.password}",  # type: ignore[attr-defined]
                f"MAILWATCH_DATABASE_URL=sqlite:///{db}",
                *extra,
                "",
            ]
        )
    )


def mbsync_config(path: Path, account: object, maildir: Path) -> None:
    path.write_text(
        f"""IMAPAccount bench
Host {account.host}
Port {account.port}
User {account.username}
Pass {account.password}
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""  # type: ignore[attr-defined]
    )
    path.chmod(0o600)


def count_maildir(maildir: Path) -> int:
    inbox = maildir / "INBOX"
    return sum(
        1 for sub in ("cur", "new") if (inbox / sub).is_dir() for _ in (inbox / sub).iterdir()
    )


def count_db_analysed(db: Path) -> dict[str, int] | None:
    """Messages analysed (every one should be), and how many had their text read."""
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            done, language = conn.execute(
                "SELECT count(*), count(language) FROM messages WHERE analysis_version > 0"
            ).fetchone()
            total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    except sqlite3.Error:
        return None
    return {"messages": int(total), "analysed": int(done), "with_language": int(language)}


def count_db_messages(db: Path) -> int | None:
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM message_locations").fetchone()[0])
    except sqlite3.Error:
        return None


# ------------------------------------------------------------------------------ profile

# Stages of a backfill as (label, module path fragment, function name): the cumulative time
# of these entry points (children included). They do not nest in one another, so the rest
# of the run is "other" (start-up, imports, thread state, commit...).
PROFILE_STAGES: tuple[tuple[str, str, str], ...] = (
    ("IMAP wait (socket reads)", "~", "<method 'recv_into' of '_socket.socket' objects>"),
    ("IMAP wait (socket reads)", "~", "<method 'read' of '_ssl._SSLSocket' objects>"),
    ("IMAP response parsing", "mailwatch/mail/imap.py", "parse_fetch"),
    ("message parsing (headers, body, quotes)", "mailwatch/core/parse.py", "parse_fetched_headers"),
    ("store (SQLite batch writes)", "mailwatch/store/mail.py", "save_batch"),
    ("analysis: classify", "mailwatch/core/classify.py", "classify_inbound"),
    ("analysis: language (lingua)", "mailwatch/core/language.py", "detect_language"),
    ("analysis: language (lingua)", "mailwatch/core/language.py", "detect_languages"),
    (
        "analysis: requested deadline",
        "mailwatch/core/promises/engine.py",
        "detect_requested_deadline",
    ),
    ("analysis: promises", "mailwatch/core/promises/engine.py", "detect_promises"),
    ("analysis: warning signs", "mailwatch/core/warning_signs.py", "detect_text_signs"),
    ("tracking: thread states", "mailwatch/track/tracker.py", "_update_threads"),
    # With analysis workers the analysers above run in another process (not profiled; the
    # main process takes a share once the sync is over): here it waits for results and
    # writes them. Reading rows for the workers stays in "other".
    ("analysis: writing results", "mailwatch/track/tracker.py", "_write"),
    ("analysis: waiting for the workers", "mailwatch/track/pool.py", "result"),
)


def profile_categories(path: str) -> dict[str, float]:
    """Seconds per stage of the profiled run (cumulative time of each stage's entry point)."""
    import pstats

    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in stats.values())
    out: dict[str, float] = {}
    for label, fragment, name in PROFILE_STAGES:
        seconds = sum(
            ct
            for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items()
            if func == name and (fragment in filename or fragment == filename)
        )
        out[label] = round(out.get(label, 0.0) + seconds, 2)
    out["other (start-up, imports, commit, ...)"] = round(total - sum(out.values()), 2)
    out["total under the profiler"] = round(total, 2)
    return out


# ------------------------------------------------------------------------------ machine info


def machine_info() -> dict[str, object]:
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(ROOT), "status", "--porcelain", "--", "mailwatch"],
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
    except OSError:
        commit, dirty = "?", False
    import hashlib

    tree = hashlib.sha256()
    for path in sorted((ROOT / "mailwatch").rglob("*.py")):
        tree.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dovecot": version(
            [shutil.which("dovecot", path="/usr/sbin:/usr/bin") or "dovecot", "--version"]
        ),
        "mbsync": version(["mbsync", "--version"]),
        "mailwatch_commit": commit + ("+dirty" if dirty else ""),
        "mailwatch_tree_sha256": tree.hexdigest()[:16],  # the code measured, dirty or not
    }


# ------------------------------------------------------------------------------ main


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000, help="messages in INBOX")
    parser.add_argument("--rounds", type=int, default=3, help="mailwatch/mbsync pairs")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="folder with ham/ and spam/ of raw messages (default: ../shared/corpus; "
        "tests/data/mail is a small sample)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument(
        "--cprofile", action="store_true", help="also profile one mailwatch backfill (untimed)"
    )
    parser.add_argument(
        "--no-tracking",
        action="store_true",
        help="time the sync alone: skip the thread-tracking refresh that sync --once ends with",
    )
    parser.add_argument(
        "--analysis-days",
        type=int,
        default=None,
        help="MAILWATCH_ANALYSIS_DAYS for mailwatch (0: read the text of all history, as if "
        "every message were recent); default: mailwatch's own default",
    )
    parser.add_argument(
        "--recent",
        type=float,
        nargs="?",
        const=25.0,
        default=None,
        metavar="DAYS",
        help="re-date every message into the last DAYS (default 25): Date header and "
        "INTERNALDATE; mailwatch then runs with the shipped defaults (BACKFILL_DAYS=30, "
        "ANALYSIS_DAYS=90), so every message is fetched and its text analysed",
    )
    parser.add_argument(
        "--analysis-workers",
        default=None,
        help="MAILWATCH_ANALYSIS_WORKERS for mailwatch (default: its own, auto)",
    )
    parser.add_argument(
        "--compare-inline",
        action="store_true",
        help="each round, also time mailwatch with ANALYSIS_WORKERS=0 (all in one process)",
    )
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        raise SystemExit("run as root: the test Dovecot stores mail as the 'mail' user")
    if not os.access(TIME_BIN, os.X_OK):
        raise SystemExit(f"{TIME_BIN} missing: apt-get install time")
    if shutil.which("mbsync") is None:
        raise SystemExit("mbsync missing: apt-get install isync")

    from tests.servers.dovecot import DovecotServer

    files = corpus_files(args.corpus)  # a missing corpus says so before any server starts
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mailwatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = child_env()
    mw = mailwatch_cmd(args.no_tracking)
    runs: list[Run] = []
    started_at = datetime.now()
    stamp = started_at.strftime("%Y%m%dT%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {
        "benchmark": "backfill",
        "started": started_at.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/backfill.py", *(argv or sys.argv[1:])]),
        "messages": args.messages,
        "rounds": args.rounds,
        "tracking": not args.no_tracking,
        "analysis_days": args.analysis_days,
        "recent_days": args.recent,
        "machine": machine_info(),
    }
    server = DovecotServer("full")  # not a with-block: a failing stop() must not lose results
    try:
        server.start()
        account = server.new_account("bench")
        copies = CorpusCopies(files)
        t0 = time.perf_counter()
        dates = None
        if args.recent is not None:
            dates = recent_dates(args.messages, args.recent, datetime.now(UTC))
        server.bulk_load_maildir(
            account.username,
            "INBOX",
            dated_messages(copies, args.messages, dates),
            internal_dates=dates,
        )
        load_s = time.perf_counter() - t0
        print(
            f"loaded {args.messages} messages ({len(copies.raw)} corpus files repeated) "
            f"into {account.username} on {server.host}:{server.port} in {load_s:.1f} s"
        )
        result["load_seconds"] = round(load_s, 2)

        last_env: Path | None = None
        # (a) mailwatch as configured; (a') with --compare-inline also in one process
        variants = [("mailwatch", args.analysis_workers)]
        if args.compare_inline:
            variants.append(("mailwatch-1proc", "0"))
        for rnd in range(1, args.rounds + 1):
            for tool, workers in variants:
                rdir = work / f"{tool}-{rnd}"
                rdir.mkdir()
                db = rdir / "mailwatch.db"
                envf = rdir / "bench.env"
                write_env(envf, account, db, args.analysis_days, args.recent is not None, workers)
                init = subprocess.run(
                    [*mw, "--env-file", str(envf), "init"],
                    cwd=rdir,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if init.returncode != 0:
                    raise SystemExit(f"mailwatch init failed:\n{init.stdout}{init.stderr}")
                run, out = timed(
                    [*mw, "--env-file", str(envf), "sync", "--once"], rdir, env, f"{tool}{rnd}"
                )
                run.tool, run.round = tool, rnd
                run.detail = parse_report(out)
                run.detail["stored_locations"] = count_db_messages(db)
                run.detail["analysed"] = count_db_analysed(db)
                run.detail["db_mb"] = round(
                    sum(p.stat().st_size for p in rdir.glob("mailwatch.db*")) / 2**20, 1
                )
                if run.returncode != 0 or not run.detail.get("parsed"):
                    run.detail["output_tail"] = out[-2000:]
                runs.append(run)
                print(
                    f"round {rnd} {tool}: {run.wall_s:.2f} s wall, {run.user_s:.1f} s user, "
                    f"{run.max_rss_mb} MB RSS ({run.tree_rss_mb} MB with its workers), "
                    f"CPU {run.main_cpu_s} s main + {run.other_cpu_s} s workers (sampled), "
                    f"load {run.loadavg}, {run.detail.get('new')} new, "
                    f"{run.detail.get('analysed')} analysed, "
                    f"{run.detail.get('imap_commands')} commands"
                )
                if tool == "mailwatch":
                    last_env = envf
                else:
                    shutil.rmtree(rdir, ignore_errors=True)

            # (b) mbsync into a fresh empty Maildir
            mdir = work / f"mbsync-{rnd}"
            maildir = mdir / "Maildir"
            maildir.mkdir(parents=True)
            cfg = mdir / "mbsyncrc"
            mbsync_config(cfg, account, maildir)
            run, out = timed(["mbsync", "-c", str(cfg), "bench"], mdir, env, f"mb{rnd}")
            run.tool, run.round = "mbsync", rnd
            run.detail = {"messages_on_disk": count_maildir(maildir)}
            if run.returncode != 0:
                run.detail["output_tail"] = out[-2000:]
            runs.append(run)
            print(
                f"round {rnd} mbsync:    {run.wall_s:.2f} s wall, {run.max_rss_mb} MB RSS, "
                f"load {run.loadavg}, "
                f"{run.detail['messages_on_disk']} messages on disk"
            )
            shutil.rmtree(maildir, ignore_errors=True)  # keep the disk footprint small

        # 3. no-change poll of the synced database
        assert last_env is not None
        poll, out = timed(
            [*mw, "--env-file", str(last_env), "sync", "--once"], last_env.parent, env, "poll"
        )
        poll.tool, poll.round = "mailwatch-no-change-poll", 0
        poll.detail = parse_report(out)
        poll.detail["output"] = out.strip()[-2000:]
        print(
            f"no-change poll: {poll.wall_s:.2f} s wall, "
            f"{poll.detail.get('imap_commands')} IMAP commands"
        )

        if args.cprofile:
            pdir = work / "profile"
            pdir.mkdir()
            db = pdir / "mailwatch.db"
            envf = pdir / "bench.env"
            write_env(
                envf,
                account,
                db,
                args.analysis_days,
                args.recent is not None,
                args.analysis_workers,
            )
            subprocess.run(
                [*mw, "--env-file", str(envf), "init"],
                cwd=pdir,
                env=env,
                check=True,
                capture_output=True,
            )
            prof = RESULTS_DIR / f"backfill-{stamp}.prof"
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _PROFILE_CPU,
                    str(prof),
                    "--env-file",
                    str(envf),
                    "sync",
                    "--once",
                ],
                cwd=pdir,
                env=env,
                check=True,
                capture_output=True,
            )
            result["cprofile"] = {
                "file": str(prof.relative_to(ROOT)),
                "wall_s_under_profiler": round(time.perf_counter() - t0, 2),
            }
            import pstats

            for key in ("cumulative", "tottime"):
                print(f"\n--- cProfile top 30 by {key} ---")
                pstats.Stats(str(prof)).sort_stats(key).print_stats(30)
            where = profile_categories(str(prof))
            result["cprofile"]["categories_s"] = where  # type: ignore[index]
            print("\n--- where the seconds go (cProfile, cumulative per stage) ---")
            for name, seconds in where.items():
                print(f"{name:<40} {seconds:8.2f} s")
    finally:
        try:
            server.stop()
        except Exception as exc:  # the helper's problem, not the benchmark's
            print(f"!! stopping Dovecot failed: {exc!r}", file=sys.stderr)
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    mw_runs = [r for r in runs if r.tool == "mailwatch" and r.returncode == 0]
    mb_runs = [r for r in runs if r.tool == "mbsync" and r.returncode == 0]
    one_runs = [r for r in runs if r.tool == "mailwatch-1proc" and r.returncode == 0]
    mw_med = median([r.wall_s for r in mw_runs])
    mb_med = median([r.wall_s for r in mb_runs])
    # The sync pass alone, as mailwatch reports it ("... in N s"): without start-up and
    # without what `sync --once` does after the pass (thread tracking).
    synced = [
        float(r.detail["reported_seconds"])  # type: ignore[arg-type]
        for r in mw_runs
        if r.detail.get("parsed")
    ]
    sync_med = median(synced)
    summary = {
        "mailwatch_wall_median_s": mw_med,
        "mbsync_wall_median_s": mb_med,
        "ratio_mailwatch_over_mbsync": round(mw_med / mb_med, 2) if mb_runs and mw_runs else None,
        "mailwatch_sync_pass_median_s": sync_med,
        "ratio_sync_pass_over_mbsync": round(sync_med / mb_med, 2) if mb_runs and synced else None,
        "mailwatch_peak_rss_mb": max((r.max_rss_mb for r in mw_runs), default=None),
        "mailwatch_peak_tree_rss_mb": max((r.tree_rss_mb for r in mw_runs), default=None),
        "mbsync_peak_rss_mb": max((r.max_rss_mb for r in mb_runs), default=None),
        "mailwatch_1proc_wall_median_s": median([r.wall_s for r in one_runs]) if one_runs else None,
        "no_change_poll_imap_commands": poll.detail.get("imap_commands"),
        "no_change_poll_wall_s": poll.wall_s,
        "targets": {
            "wall_ratio_max": 1.0,
            "wall_ratio_aim": 0.5,
            "peak_rss_mb_max": 150,
            "no_change_poll": "constant small command count",
        },
        "failed_runs": sum(1 for r in runs if r.returncode != 0),
    }
    result["runs"] = [asdict(r) for r in runs]
    result["no_change_poll"] = asdict(poll)
    result["summary"] = summary
    out_path = RESULTS_DIR / f"backfill-{stamp}.json"
    out_path.write_text(json.dumps(result, indent=2) + "\n")

    print()
    print(
        f"{'tool':<10} {'round':>5} {'wall s':>8} {'user s':>8} {'sys s':>7} {'RSS MB':>8} "
        f"{'tree MB':>8} {'load':>11}  ok"
    )
    for r in runs:
        ok = "yes" if r.returncode == 0 else f"exit {r.returncode}"
        print(
            f"{r.tool:<10} {r.round:>5} {r.wall_s:>8.2f} {r.user_s:>8.2f} {r.sys_s:>7.2f} "
            f"{r.max_rss_mb:>8.1f} {r.tree_rss_mb:>8.1f} {r.loadavg[0]:>5.2f}-{r.loadavg[1]:<5.2f}  {ok}"
        )
    print()
    print(f"mailwatch median wall: {mw_med:.2f} s   mbsync median wall: {mb_med:.2f} s")
    if one_runs:
        one_med = median([r.wall_s for r in one_runs])
        print(f"mailwatch in one process (ANALYSIS_WORKERS=0): {one_med:.2f} s median wall")
    if summary["ratio_mailwatch_over_mbsync"] is not None:
        print(
            f"ratio mailwatch/mbsync: {summary['ratio_mailwatch_over_mbsync']:.2f}x "
            "(target <= 1.0x, aim 0.5x)"
        )
    if summary["ratio_sync_pass_over_mbsync"] is not None:
        print(
            f"sync pass alone (as reported by mailwatch): {sync_med:.2f} s median, "
            f"{summary['ratio_sync_pass_over_mbsync']:.2f}x mbsync"
        )
    print(
        f"peak RSS: mailwatch {summary['mailwatch_peak_rss_mb']} MB (target <= 150 MB; "
        f"{summary['mailwatch_peak_tree_rss_mb']} MB summed over its processes), "
        f"mbsync {summary['mbsync_peak_rss_mb']} MB"
    )
    print(
        f"no-change poll: {summary['no_change_poll_imap_commands']} IMAP commands "
        f"in {poll.wall_s:.2f} s"
    )
    print(f"results: {out_path.relative_to(ROOT)}")
    return 1 if summary["failed_runs"] else 0


if __name__ == "__main__":
    sys.exit(main())
