"""Analysis CPU per message: the text analysers as a recent-mail backfill runs them.

Run from the project root::

    .venv/bin/python bench/analysis.py --rounds 3 --before /tmp/analysis-before
    .venv/bin/python bench/analysis.py --check --before /tmp/analysis-before

What it does, per message of the corpus (``--corpus DIR`` with ``ham/`` and ``spam/``; by
default the shared corpus beside the repository, else the repository's small sample):

1. Builds the analysis input as a backfill does: the message is re-dated into the last 25 days
   (as ``bench/backfill.py --recent`` does), parsed with :func:`parse_fetched` from its header
   block and an 8 KiB prefix of its first text part still transfer-encoded (what the sync
   fetches with ``BODY.PEEK[section]<0.8192>``), rebuilt as the tracker reads it back from the
   store (:func:`parsed_from_row`: the new text, no stored prefix), its direction decided by
   :func:`message_direction` for an INBOX.
2. Times (``time.process_time``: CPU of every thread, lingua's included) the worker's entry
   point :func:`analyze_messages` on batches of ``ANALYSE_BATCH``, and each analyser alone
   through its public function: inbound classification, language, requested deadline,
   warning signs, and promises (every client text analysed once more as if it were ours: the
   backfill of an INBOX has no outbound mail, a Sent folder has). Best of ``--repeat`` passes
   in one process, best of ``--rounds`` processes.
3. With ``--before DIR`` (a checkout of an older commit, e.g. ``git worktree add
   /tmp/analysis-before 32aa9e0``) the same measurement runs on that code too, in the same
   run, alternating, and the table shows both.
4. ``--check`` compares the results of every message (classification, language, requested
   deadline, warning signs, promises) between this code and ``--before``, and exits 1 on the
   first difference.

Each measurement runs in a fresh interpreter whose ``mailwatch`` is imported from the code
under test; the inputs are built by that same interpreter (the parser is not what is measured).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLE_CORPUS = ROOT / "tests" / "data" / "mail"
OWN = "bench@mailwatch.test"
TEXT_PREFIX_BYTES = 8192  # the shipped TEXT_PREFIX_BYTES
RECENT_DAYS = 25  # bench/backfill.py --recent's default
# A fixed "now": the same dates (hence the same deadlines) in every process and every run.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ANALYSERS = ("classify", "language", "deadline", "signs", "promises")


# ------------------------------------------------------------------------------ inputs


def _files(corpus: Path) -> list[Path]:
    """``ham/`` and ``spam/`` raw messages; else every ``.eml`` below (the evaluation set)."""
    found = sorted(
        p
        for sub in ("ham", "spam")
        if (corpus / sub).is_dir()
        for p in (corpus / sub).iterdir()
        if p.is_file()
    )
    return found or sorted(corpus.rglob("*.eml"))


def _split(raw: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(sep)
        if found:
            return head + sep, body
    return raw, b""


def _text_part(raw: bytes) -> tuple[bytes, str | None, str | None, str]:
    """The first text/plain part (else text/html) as the sync fetches it: a prefix of its
    transfer-encoded bytes, with its encoding, charset and subtype; the whole body when
    there is no text part (the sync's ``TEXT`` section). The choice repeats
    ``core.parse.first_text_part`` on purpose: this runs against older commits too."""
    message = message_from_bytes(raw, policy=compat32)
    for wanted in ("plain", "html"):
        for part in message.walk():
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            if part.get_content_subtype() != wanted:
                continue
            if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
                continue
            payload = part._payload  # as received: get_payload() would decode the charset
            body = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
            encoding = part.get("Content-Transfer-Encoding")
            return (
                body[:TEXT_PREFIX_BYTES],
                encoding.strip().lower() if encoding else None,
                part.get_content_charset(),
                wanted,
            )
    return _split(raw)[1][:TEXT_PREFIX_BYTES], None, None, "plain"


def _addresses(values: Sequence[Any]) -> list[dict[str, str]]:
    return [{"name": a.name, "email": a.email} for a in values]


def build_inputs(corpus: Path, limit: int | None) -> tuple[list[Any], Any]:
    """The analysis inputs of the corpus as a recent backfill builds them, and the settings."""
    # Imported here: the caller has put the code under test first on sys.path.
    from mailwatch.core.analysis import AnalysisInput, AnalysisSettings
    from mailwatch.core.business_time import BusinessCalendar
    from mailwatch.core.language import DEFAULT_LANGUAGES
    from mailwatch.core.message import Direction
    from mailwatch.core.parse import parse_fetched
    from mailwatch.core.threads import message_direction
    from mailwatch.track.tracker import parsed_from_row

    sys.path.insert(1, str(ROOT / "bench"))
    from backfill import recent_dates, redate

    settings = AnalysisSettings(
        own_addresses=frozenset({OWN}),
        internal_domains=frozenset(),
        calendar=BusinessCalendar(tz_name="UTC"),
        languages=DEFAULT_LANGUAGES,
    )
    files = _files(corpus)[:limit]
    dates = recent_dates(len(files), RECENT_DAYS, NOW)
    items = []
    for path, when in zip(files, dates, strict=True):
        head, _ = _split(path.read_bytes())
        raw = redate(head, when) + _split(path.read_bytes())[1]
        head, _ = _split(raw)
        body, encoding, charset, subtype = _text_part(raw)
        parsed = parse_fetched(
            head, body, transfer_encoding=encoding, charset=charset, body_subtype=subtype
        )
        sender = parsed.from_addr
        row = SimpleNamespace(
            message_id=parsed.message_id,
            subject=parsed.subject,
            from_name=sender.name if sender else None,
            from_email=sender.email if sender else None,
            to_addrs=_addresses(parsed.to),
            cc_addrs=_addresses(parsed.cc),
            reply_to=_addresses(parsed.reply_to),
            date=parsed.date,
            content_type=parsed.content_type,
            markers=json.loads(json.dumps(parsed.markers)),
            new_text=parsed.new_text,
        )
        msg = parsed_from_row(row)
        direction = message_direction(msg, "inbox", settings.own_addresses)
        at = parsed.date or when
        items.append(AnalysisInput(msg, Direction(direction), at, True))
    return items, settings


# ------------------------------------------------------------------------------ measuring


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(items: list[Any], settings: Any, repeat: int) -> dict[str, float]:
    """Best CPU seconds of ``repeat`` passes: the entry point, then each analyser alone."""
    from mailwatch.core.analysis import analyze_messages
    from mailwatch.core.classify import classify_inbound
    from mailwatch.core.language import detect_languages
    from mailwatch.core.message import Direction
    from mailwatch.core.promises import detect_promises, detect_requested_deadline
    from mailwatch.core.warning_signs import detect_text_signs
    from mailwatch.track.tracker import ANALYSE_BATCH

    batches = [items[i : i + ANALYSE_BATCH] for i in range(0, len(items), ANALYSE_BATCH)]
    results = [r for batch in batches for r in analyze_messages(batch, settings)]  # warm-up
    inbound = [i for i in items if i.direction is Direction.INBOUND]
    client = [i for i, r in zip(items, results, strict=True) if r.needs_reply]
    langs = [r.language for r in results if r.needs_reply]
    outbound_langs = detect_languages([i.msg.new_text for i in client], settings.languages)
    own, internal, cal = settings.own_addresses, settings.internal_domains, settings.calendar

    def total() -> None:
        for batch in batches:
            analyze_messages(batch, settings)

    def classify() -> None:
        for item in inbound:
            classify_inbound(item.msg, own, internal)

    client_ids = {id(i) for i in client}

    def language() -> None:
        for batch in batches:  # the worker's batches: one lingua call each
            detect_languages(
                [i.msg.new_text for i in batch if id(i) in client_ids], settings.languages
            )

    def deadline() -> None:
        for item, lang in zip(client, langs, strict=True):
            if item.at is not None and item.msg.new_text:
                detect_requested_deadline(item.msg.new_text, item.at, cal, lang)

    def signs() -> None:
        for item, lang in zip(client, langs, strict=True):
            detect_text_signs(item.msg.new_text, item.msg.message_id, lang)

    def promises() -> None:
        for item, lang in zip(client, outbound_langs, strict=True):
            if item.at is not None and item.msg.new_text:
                detect_promises(item.msg.new_text, item.at, cal, lang)

    parts: dict[str, Callable[[], None]] = {
        "total": total,
        "classify": classify,
        "language": language,
        "deadline": deadline,
        "signs": signs,
        "promises": promises,
    }
    best = {name: min(_cpu(fn) for _ in range(repeat)) for name, fn in parts.items()}
    best["messages"] = len(items)
    best["client"] = len(client)
    return best


def dump_results(items: list[Any], settings: Any) -> list[tuple[object, ...]]:
    """Every result of every message as plain values: the entry point's, and the promises of
    each client text as if it were ours (an INBOX backfill has no outbound mail)."""
    from dataclasses import replace

    from mailwatch.core.analysis import analyze_messages
    from mailwatch.core.message import Direction
    from mailwatch.track.tracker import ANALYSE_BATCH

    out: list[tuple[object, ...]] = []
    ours = [replace(i, direction=Direction.OUTBOUND) for i in items]
    for group in (items, ours):
        for start in range(0, len(group), ANALYSE_BATCH):
            batch = group[start : start + ANALYSE_BATCH]
            for item, r in zip(batch, analyze_messages(batch, settings), strict=True):
                out.append(
                    (
                        item.msg.message_id,
                        item.direction.value,
                        r.needs_reply,
                        r.category,
                        r.reason,
                        r.language,
                        r.requested_by.isoformat() if r.requested_by else None,
                        tuple((s.kind.value, s.evidence, s.message_id) for s in r.signs),
                        tuple((p.text, p.due_at.isoformat(), p.time_given) for p in r.promises),
                    )
                )
    return out


def child(args: argparse.Namespace) -> None:
    """One measurement in this interpreter, of the code in ``args.code``; JSON on stdout."""
    sys.path.insert(0, str(Path(args.code).resolve()))
    import mailwatch

    assert Path(mailwatch.__file__).resolve().is_relative_to(Path(args.code).resolve())
    items, settings = build_inputs(Path(args.corpus), args.limit)
    if args.dump:
        with open(args.dump, "wb") as fh:
            pickle.dump(dump_results(items, settings), fh)
        return
    if args.profile:
        import cProfile

        from mailwatch.core.analysis import analyze_messages

        for start in range(0, len(items), 250):  # models and dateparser loaded before
            analyze_messages(items[start : start + 250], settings)
        profiler = cProfile.Profile()
        profiler.enable()
        for start in range(0, len(items), 250):
            analyze_messages(items[start : start + 250], settings)
        profiler.disable()
        profiler.dump_stats(args.profile)
        return
    print(json.dumps(measure(items, settings, args.repeat)))


def _run_child(code: Path, args: argparse.Namespace, *extra: str) -> str:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--code",
        str(code),
        "--corpus",
        str(args.corpus),
        "--repeat",
        str(args.repeat),
        *(["--limit", str(args.limit)] if args.limit else []),
        *extra,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{code}: measurement failed:\n{done.stderr[-3000:]}")
    return done.stdout


def check(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        got = {}
        for name, code in (("this", ROOT), ("before", Path(args.before))):
            path = Path(tmp) / f"{name}.pickle"
            _run_child(code, args, "--dump", str(path))
            with open(path, "rb") as fh:
                got[name] = pickle.load(fh)
    this, before = got["this"], got["before"]
    if len(this) != len(before):
        print(f"different counts: {len(this)} here, {len(before)} before")
        return 1
    differ = [(a, b) for a, b in zip(this, before, strict=True) if a != b]
    fields = ("language", "requested_by", "signs", "promises", "category")
    counts = {
        "language": sum(r[5] is not None for r in this),
        "requested_by": sum(r[6] is not None for r in this),
        "signs": sum(len(r[7]) for r in this),
        "promises": sum(len(r[8]) for r in this),
        "needs_reply": sum(bool(r[2]) for r in this),
    }
    print(
        f"{len(this)} results compared ({len(this) // 2} messages, inbound as they came and "
        f"as if ours): {counts}; compared fields: {', '.join(fields)}, reason"
    )
    for a, b in differ[:10]:
        print(f"DIFFERENT\n  here:   {a}\n  before: {b}")
    if differ:
        print(f"{len(differ)} results differ")
        return 1
    print("identical")
    return 0


def bench(args: argparse.Namespace) -> None:
    codes = [("this", ROOT)] + ([("before", Path(args.before))] if args.before else [])
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in codes}
    load = []
    for round_ in range(args.rounds):
        order = codes if round_ % 2 == 0 else codes[::-1]
        for name, code in order:
            load.append(os.getloadavg()[0])
            runs[name].append(json.loads(_run_child(code, args)))
            print(f"round {round_ + 1} {name}: total {runs[name][-1]['total']:.2f} s", flush=True)
    best = {name: {k: min(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    n = int(best["this"]["messages"])
    print(
        f"\n{n} messages ({int(best['this']['client'])} client messages whose text is read), "
        f"best of {args.rounds} processes x {args.repeat} passes; load average (1 min) "
        f"{min(load):.2f}-{max(load):.2f}, median {statistics.median(load):.2f}\n"
    )
    head = f"{'CPU ms per message':<24}" + "".join(f"{name:>12}" for name, _ in codes)
    if args.before:
        head += f"{'ratio':>10}"
    print(head)
    for key in ("total", *ANALYSERS):
        line = f"{key:<24}" + "".join(f"{best[name][key] * 1000 / n:>12.3f}" for name, _ in codes)
        if args.before and best["this"][key] > 0:
            line += f"{best['before'][key] / best['this'][key]:>9.2f}x"
        print(line)
    print(
        "\n(total: analyze_messages as the worker calls it; the lines below time each analyser "
        "alone through its public function; promises: every client text as if it were ours)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else SAMPLE_CORPUS,
        help="folder with ham/ and spam/ raw messages, or of .eml files (tests/data/eval); "
        "default: the shared corpus beside the repository, else tests/data/mail",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N messages")
    parser.add_argument("--rounds", type=int, default=3, help="processes per code (best of)")
    parser.add_argument("--repeat", type=int, default=3, help="passes per process (best of)")
    parser.add_argument("--before", type=Path, help="a checkout of the older code to compare")
    parser.add_argument("--check", action="store_true", help="compare every result with --before's")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the entry point")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child or args.profile:
        child(args)
        return 0
    if args.check:
        if not args.before:
            parser.error("--check needs --before DIR")
        return check(args)
    bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
