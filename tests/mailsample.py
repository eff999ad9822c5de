"""Real mail for tests, from ``tests/data/mail`` (see its README), and repeated copies of it.

Why repeated copies: a few tests need a sync that is still running when they kill it, which
takes a thousand messages or more. :class:`CorpusCopies` repeats any set of messages to N with
a fresh, unique Message-ID per copy; In-Reply-To/References that point at a message of the set
are rewritten to the same copy's id, so threads stay realistic. All other bytes are unchanged.
The benchmark (``bench/backfill.py``) uses the same class on a full corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "data" / "mail"


def corpus_files(corpus: Path = SAMPLE) -> list[Path]:
    """Every message under ``corpus/ham`` and ``corpus/spam``, ham first."""
    if not (corpus / "ham").is_dir() and not (corpus / "spam").is_dir():
        raise SystemExit(
            f"no corpus at {corpus}: give a folder with ham/ and spam/ sub-folders of raw "
            "messages (one message per file)"
        )
    files = sorted(
        p
        for sub in ("ham", "spam")
        if (corpus / sub).is_dir()
        for p in (corpus / sub).iterdir()
        if p.is_file()
    )
    if not files:
        raise SystemExit(f"no messages under {corpus}/ham or {corpus}/spam")
    return files


def ham_files() -> list[Path]:
    return sorted(p for p in (SAMPLE / "ham").iterdir() if p.is_file())


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MSGID_FIELD = re.compile(rb"(?im)^(message-id)[ \t]*:(.*(?:\r?\n[ \t].*)*)")
_REF_FIELDS = re.compile(rb"(?im)^(in-reply-to|references)([ \t]*:)(.*(?:\r?\n[ \t].*)*)")
_ANGLE_ID = re.compile(rb"<([^<>\s]+)>")


def _split_header(raw: bytes) -> tuple[bytes, bytes]:
    m = _HEADER_END.search(raw)
    if m is None:
        return raw, b""
    return raw[: m.start()], raw[m.start() :]


def _orig_id(header: bytes) -> bytes | None:
    m = _MSGID_FIELD.search(header)
    if m is None:
        return None
    # Only a clean <local@domain>; a broken one (9 spam messages have spaces or folded
    # Received: text inside the brackets) gets a generated id, or copies would collide.
    ids = _ANGLE_ID.findall(m.group(2))
    return ids[0] if ids and b"@" in ids[0] else None


def _new_id(orig: bytes | None, copy: int, idx: int) -> bytes:
    tag = f"b{copy}x{idx}".encode()
    if orig and b"@" in orig:
        local, _, domain = orig.rpartition(b"@")
        return b"<" + local + b"." + tag + b"@" + domain + b">"
    return b"<" + tag + b"@bench.mailwatch.invalid>"


class CorpusCopies:
    """The corpus repeated to N messages, each with a unique Message-ID."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.raw = [p.read_bytes() for p in files]
        self.parts = [_split_header(r) for r in self.raw]
        self.orig_ids = [_orig_id(h) for h, _ in self.parts]
        # original id -> index of the first corpus file carrying it (references resolve to it)
        self.first_with: dict[bytes, int] = {}
        for idx, mid in enumerate(self.orig_ids):
            if mid is not None and mid not in self.first_with:
                self.first_with[mid] = idx

    def message(self, n: int) -> bytes:
        """Message number ``n`` (0-based) of the repeated corpus."""
        copy, idx = divmod(n, len(self.raw))
        header, rest = self.parts[idx]
        new = _new_id(self.orig_ids[idx], copy, idx)
        m = _MSGID_FIELD.search(header)
        if m is not None:
            header = header[: m.start()] + m.group(1) + b": " + new + header[m.end() :]
        else:  # insert after a leading mbox "From " line, if any
            eol = b"\r\n" if b"\r\n" in header else b"\n"
            line = b"Message-ID: " + new + eol
            if header.startswith(b"From "):
                cut = header.find(b"\n") + 1
                header = header[:cut] + line + header[cut:]
            else:
                header = line + header

        def fix_refs(field: re.Match[bytes]) -> bytes:
            def one(ref: re.Match[bytes]) -> bytes:
                target = self.first_with.get(ref.group(1))
                if target is None:
                    return ref.group(0)  # points outside the corpus: leave it
                return _new_id(self.orig_ids[target], copy, target)

            return field.group(1) + field.group(2) + _ANGLE_ID.sub(one, field.group(3))

        header = _REF_FIELDS.sub(fix_refs, header)
        return header + rest

    def messages(self, count: int) -> Iterator[bytes]:
        for n in range(count):
            yield self.message(n)


def repeated_sample(count: int, files: Sequence[Path] | None = None) -> list[bytes]:
    """``count`` messages: the sample (or ``files``) repeated with unique Message-IDs."""
    return list(CorpusCopies(files if files is not None else corpus_files()).messages(count))
