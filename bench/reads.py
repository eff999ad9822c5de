"""Read latency on a large store: the reads a user waits for, p50 / p95 over N repetitions.

    .venv/bin/python bench/store_gen.py --url sqlite:///big.db --messages 1000000 --threads 200000
    .venv/bin/python bench/reads.py --url sqlite:///big.db --repeat 20

Measured (wall and CPU time of this process, so that a busy machine shows as wall >> CPU):

- ``threads --state overdue --json``: ``list_threads(state="overdue")`` with message ids, as the
  command builds it, and the JSON text;
- ``digest --print``: ``build_digest`` and the plain-text rendering;
- the web pages over real HTTP (uvicorn in a thread, logged in): the approval queue
  ``/drafts``, the thread list ``/threads`` (first page) and one thread page;
- the commands as subprocesses (start-up included): ``mailwatch --help``,
  ``mailwatch threads --state overdue --json`` (whole, and a first page of ``--limit 100``),
  ``mailwatch promises --json`` and ``mailwatch digest --print``; and the start-up alone
  (``mailwatch threads --limit 1`` on the store).

``--peer DIR`` runs every command also with the code in DIR (a checkout of another commit,
put first on PYTHONPATH), alternating run by run, so that both face the same load; the
in-process reads too: each code's reads run in a child process (``--in-process-child``),
``--rounds`` times alternately, and the samples of each code are pooled. The JSON text of
``threads --json`` is made as each code's command makes it (its ``threads_json`` or
``to_json``, its ``print_json``) into a UTF-8 stream over a byte buffer, as to a pipe.
The 1-minute load average is recorded next to every figure.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import gc
import http.cookiejar
import inspect
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# the code measured in process: this checkout, or a peer's (--in-process-child under --peer)
CODE = Path(os.environ.get("READS_CODE", str(ROOT)))
sys.path.insert(0, str(CODE))

PASSWORD = "bench-password-0123456789"


def settings_values(url: str) -> dict[str, str]:
    return {
        "MAILWATCH_DATABASE_URL": url,
        "MAILWATCH_IMAP_HOST": "imap.example.com",
        "MAILWATCH_IMAP_USERNAME": "sales@example.com",
        "MAILWATCH_IMAP_PASSWORD": "unused",
        "MAILWATCH_WEB_PASSWORD": PASSWORD,
        "MAILWATCH_WEB_SECRET": "bench-secret-0123456789abcdef0123456789",
    }


def samples(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` calls, after one warm-up call."""
    fn()  # warm: caches, the business-time tables, SQLite's page cache
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    return summary(*samples(fn, repeat))


def summary(walls: list[float], cpus: list[float] | None = None) -> dict[str, float]:
    def p95(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]

    out = {
        "wall_p50_ms": round(statistics.median(walls) * 1000, 1),
        "wall_p95_ms": round(p95(walls) * 1000, 1),
    }
    if cpus:
        out["cpu_p50_ms"] = round(statistics.median(cpus) * 1000, 1)
        out["cpu_p95_ms"] = round(p95(cpus) * 1000, 1)
    return out


class Web:
    """The real app on a loopback port, and a logged-in HTTP client."""

    def __init__(self, factory: Any, settings: Any) -> None:
        import socket

        import uvicorn

        from mailwatch.service.web import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(factory, settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        body = urllib.parse.urlencode(
            {"password": PASSWORD, "csrf_token": token.group(1), "next": "/drafts"}
        ).encode()
        request = urllib.request.Request(
            self.url("/login"),
            data=body,
            headers={"Origin": self.url(""), "Sec-Fetch-Site": "same-origin"},
        )
        with self.opener.open(request, timeout=60) as response:
            assert "/drafts" in response.url, "login failed"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> str:
        with self.opener.open(self.url(path), timeout=120) as response:
            assert response.status == 200, (path, response.status)
            return str(response.read().decode())

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def command(
    args: list[str], env_file: Path, repeat: int, peer: Path | None = None
) -> dict[str, Any]:
    """Wall and CPU time of ``python -m mailwatch ARGS``; with ``peer``, the same command with
    that code first on PYTHONPATH, alternating, both measured in the one run."""
    cmd = [sys.executable, "-m", "mailwatch", "--env-file", str(env_file), *args]
    # run from the env file's folder: ``python -m`` puts the working directory before
    # PYTHONPATH, so from a checkout it would import that checkout, never the peer
    cwd = env_file.parent
    envs = {"this": {**os.environ, "PYTHONPATH": str(ROOT)}}  # this checkout's code
    if peer is not None:
        envs["peer"] = {**os.environ, "PYTHONPATH": str(peer)}
    runs: dict[str, tuple[list[float], list[float]]] = {}
    load_before = load()
    for name, env in envs.items():  # warm the page cache; a peer without the option: skipped
        done = subprocess.run(cmd, capture_output=True, timeout=600, env=env, cwd=cwd)
        if done.returncode == 0:
            runs[name] = ([], [])
    for _ in range(repeat):
        for name in runs:
            before = os.times()
            w0 = time.perf_counter()
            subprocess.run(
                cmd, capture_output=True, check=True, timeout=600, env=envs[name], cwd=cwd
            )
            runs[name][0].append(time.perf_counter() - w0)
            after = os.times()
            runs[name][1].append(
                (after.children_user - before.children_user)
                + (after.children_system - before.children_system)
            )
    out: dict[str, Any] = summary(*runs["this"])
    out["load"] = [load_before, load()]
    if peer is not None:
        out["peer"] = summary(*runs["peer"]) if "peer" in runs else "cannot run this command"
    return out


def load() -> float:
    return round(os.getloadavg()[0], 2)


def in_process(url: str, repeat: int) -> dict[str, Any]:
    """The reads in this process, with the code on ``sys.path`` (this checkout or the peer's):
    raw samples per read, the 1-minute load average at its start and end, and the store's size.
    """
    from sqlalchemy import func, select

    from mailwatch.cli.output import print_json
    from mailwatch.config import settings_from_values
    from mailwatch.digest.data import build_digest
    from mailwatch.digest.render import render_text
    from mailwatch.store.db import make_engine, session_factory
    from mailwatch.store.models import Message, Thread
    from mailwatch.views.context import View
    from mailwatch.views.threads import list_threads

    settings = settings_from_values(settings_values(url))
    engine = make_engine(url)
    factory = session_factory(engine)
    view = View.of(settings)
    now = datetime.now(UTC)
    with factory() as session:
        size = {
            "threads": session.scalar(select(func.count()).select_from(Thread)),
            "messages": session.scalar(select(func.count()).select_from(Message)),
        }
        overdue_n = len(list_threads(session, now, "overdue", view, with_message_ids=False))
        one = session.scalar(select(Thread.id).where(Thread.state == "awaiting_us").limit(1))
    size["overdue"] = overdue_n

    try:  # what this code's `threads --json` writes its rows with (older code: to_json)
        from mailwatch.views.threads import threads_json as rows_json
    except ImportError:

        def rows_json(views: Any) -> Any:
            return [t.to_json() for t in views]

    # this code's print_json, with the floats=False the threads command passes where it can
    plain = {"floats": False} if "floats" in inspect.signature(print_json).parameters else {}

    def as_printed(rows: Any) -> bytes:
        """What the command writes: this code's own print_json, into a UTF-8 stream over a
        binary buffer (what standard output is to a pipe)."""
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="utf-8")
        with contextlib.redirect_stdout(out):
            print_json(rows, **plain)
        out.flush()
        return raw.getvalue()

    def overdue_json() -> None:
        with factory() as session:
            as_printed(rows_json(list_threads(session, now, "overdue", view)))

    def digest_text() -> None:
        with factory() as session:
            render_text(build_digest(session, settings, now))

    def overdue_page() -> None:
        with factory() as session:
            page = list_threads(session, now, "overdue", view, limit=100)
            as_printed(rows_json(page))

    results: dict[str, Any] = {"store": size, "url": engine.url.render_as_string()}
    # The collector as each code's read command has it: what was loaded frozen out of its
    # scans (cli.context.loading, both codes), and off for the read where the command turns
    # it off (cli.context.short_read, this code). The web pages keep it on, as the service.
    gc.freeze()
    from mailwatch.cli import context as cli_context

    command_gc_off = hasattr(cli_context, "short_read")

    def measure(name: str, fn: Callable[[], Any], command: bool = False) -> None:
        before = load()
        if command and command_gc_off:
            gc.disable()
        try:
            walls, cpus = samples(fn, repeat)
        finally:
            gc.enable()
        results[name] = {"walls": walls, "cpus": cpus, "load": [before, load()]}

    measure("threads --state overdue --json (in process)", overdue_json, command=True)
    measure("threads --state overdue --json --limit 100 (in process)", overdue_page, command=True)
    measure("digest --print (in process)", digest_text, command=True)
    web = Web(factory, settings)
    try:
        for name, path in (
            ("web /drafts (queue)", "/drafts"),
            ("web /threads (first page)", "/threads"),
            ("web /threads/{id} (thread page)", f"/threads/{one}"),
        ):
            measure(name, lambda p=path: web.get(p))
    finally:
        web.stop()
    return results


def in_process_alternating(url: str, repeat: int, rounds: int, peer: Path | None) -> dict[str, Any]:
    """Each code's in-process reads in a child process, ``rounds`` times alternately (this
    code, then the peer), ``repeat / rounds`` samples a round; the samples pooled per code."""
    codes = {"this": ROOT} if peer is None else {"this": ROOT, "peer": peer.resolve()}
    pooled: dict[str, dict[str, Any]] = {name: {} for name in codes}
    per_round = max(1, math.ceil(repeat / rounds))
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for name, code in codes.items():
                out = Path(tmp) / f"{name}.json"
                subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--url",
                        url,
                        "--repeat",
                        str(per_round),
                        "--in-process-child",
                        str(out),
                    ],
                    check=True,
                    timeout=1800,
                    cwd=tmp,  # never this checkout's folder: its code would shadow the peer's
                    env={**os.environ, "READS_CODE": str(code), "PYTHONPATH": str(code)},
                )
                got = json.loads(out.read_text())
                for key, value in got.items():
                    if isinstance(value, dict) and "walls" in value:
                        entry = pooled[name].setdefault(key, {"walls": [], "cpus": [], "load": []})
                        entry["walls"] += value["walls"]
                        entry["cpus"] += value["cpus"]
                        entry["load"] += value["load"]
                    else:
                        pooled[name][key] = value
    results: dict[str, Any] = {}
    for key, value in pooled["this"].items():
        if not (isinstance(value, dict) and "walls" in value):
            results[key] = value
            continue
        figures: dict[str, Any] = summary(value["walls"], value["cpus"])
        figures["load"] = [min(value["load"]), max(value["load"])]
        if "peer" in pooled:
            theirs = pooled["peer"].get(key)
            figures["peer"] = (
                {
                    **summary(theirs["walls"], theirs["cpus"]),
                    "load": [min(theirs["load"]), max(theirs["load"])],
                }
                if theirs
                else "cannot run this read"
            )
        results[key] = figures
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-commands", action="store_true", help="skip the subprocess runs")
    parser.add_argument(
        "--peer", type=Path, help="also run the commands with the code in this folder (alternating)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="in-process reads: alternations of the two codes"
    )
    parser.add_argument("--in-process-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process_child is not None:
        args.in_process_child.write_text(json.dumps(in_process(args.url, args.repeat)))
        return 0

    # Bytecode as an installed package has it (pip compiles on install): with
    # PYTHONDONTWRITEBYTECODE set (as on the benchmark machine) and no __pycache__ in a
    # checkout, every run would compile mailwatch's sources again (~30-40 ms a command).
    for code in (ROOT, args.peer):
        if code is not None:
            compileall.compile_dir(str(Path(code) / "mailwatch"), quiet=1)
    load_start = os.getloadavg()
    results = in_process_alternating(args.url, args.repeat, args.rounds, args.peer)
    print(f"store: {results['store']}")
    if not args.no_commands:
        with tempfile.TemporaryDirectory() as tmp:
            env_file = Path(tmp) / "bench.env"
            env_file.write_text("".join(f"{k}={v}\n" for k, v in settings_values(args.url).items()))
            env_file.chmod(0o600)
            reps = args.repeat
            for name, cmd_args in (
                ("mailwatch --help", ["--help"]),
                # start-up, settings, schema check and one trivial query (an empty table)
                ("mailwatch workers --json", ["workers", "--json"]),
                ("mailwatch threads --limit 1", ["threads", "--limit", "1"]),
                (
                    "mailwatch threads --state overdue --json",
                    ["threads", "--state", "overdue", "--json"],
                ),
                (
                    "mailwatch threads --state overdue --json --limit 100",
                    ["threads", "--state", "overdue", "--json", "--limit", "100"],
                ),
                ("mailwatch promises --json", ["promises", "--json"]),
                ("mailwatch digest --print", ["digest", "--print"]),
            ):
                results[f"{name} (process)"] = command(cmd_args, env_file, reps, args.peer)
    results["loadavg"] = {"start": load_start, "end": os.getloadavg()}
    for name, figures in results.items():
        print(f"{name:<55} {figures}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"reads-{datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
