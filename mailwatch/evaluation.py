"""Measure the analysers on a labelled set of real-looking conversations.

``python -m mailwatch.evaluation DIR [--min 0.95] [--json]``

``DIR`` holds ``set.json`` (our addresses, internal domains, the mailbox calendar and languages)
and one folder per conversation with its messages as ``01.eml``, ``02.eml``, ... in order and a
``labels.json`` giving, per message file, what a person reading the mail says is right:
``direction``; for inbound mail ``needs_reply`` and ``category``; for every message the
``language`` of its new text; for our outgoing mail the ``promises`` as a list of due times.
Optional ``promise_status`` entries state whether a promise was kept or missed ``as_of`` an
instant, given the later messages of the conversation.

Every message goes through the same code the service uses: ``parse_message`` (which also cuts
quoted text off), ``message_direction``, ``classify_inbound``, ``detect_language``,
``detect_promises`` with the mailbox's ``BusinessCalendar``, and ``promise_status``. The figures:

* needs-reply precision and recall over inbound messages, positive class = needs a reply;
* promise precision and recall over due times: a detected promise is a true positive when its due
  time equals an expected one to the minute (each expected one matches at most once);
* language: per-language precision and recall, their unweighted mean over the languages of the
  set (macro P/R), and accuracy over all messages; "undecided" (None) counts as a miss;
* accuracy of the automatic-category, direction and promise-status labels.

Each headline figure must reach ``--min`` (0.95 by default), else the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mailwatch.core.business_time import BusinessCalendar, parse_work_days, parse_work_hours
from mailwatch.core.classify import classify_inbound
from mailwatch.core.draft_facts import check_draft_facts, late_without_apology
from mailwatch.core.drafting import DraftInputs, RenderedDraft, answer_by, build_draft_inputs
from mailwatch.core.etiquette import check_draft
from mailwatch.core.intent import classify_intent
from mailwatch.core.language import detect_language
from mailwatch.core.message import Direction, ParsedMessage
from mailwatch.core.parse import parse_message
from mailwatch.core.promises import (
    DetectedPromise,
    detect_promises,
    detect_requested_deadline,
    promise_status,
)
from mailwatch.core.threads import message_direction
from mailwatch.drafts.render import DraftRenderer
from mailwatch.drafts.service import gender_of_first_name
from mailwatch.errors import UsageError

__all__ = [
    "REQUIRED_CATEGORIES",
    "Mismatch",
    "Report",
    "SetConfig",
    "evaluate",
    "main",
]

DEFAULT_MIN = 0.95

# What the set must contain (issue 3, "Tests and evaluation"); see ``Report.coverage``.
REQUIRED_CATEGORIES: tuple[str, ...] = (
    "auto_reply",
    "newsletter",
    "internal",
    "bounce",
    "outlook_no_references",
    "refusal",
    "promise_kept",
    "promise_missed",
)


class EvalSetError(UsageError):
    """The evaluation set itself is malformed (missing file, bad label)."""


@dataclass(frozen=True)
class SetConfig:
    own_addresses: frozenset[str]
    internal_domains: frozenset[str]
    calendar: BusinessCalendar
    languages: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> SetConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EvalSetError(f"{path}: {exc}") from exc
        start, end = parse_work_hours(data.get("work_hours", "09:00-18:00"))
        calendar = BusinessCalendar(
            tz_name=data.get("timezone", "UTC"),
            work_start=start,
            work_end=end,
            work_days=parse_work_days(data.get("work_days", "Mon-Fri")),
            holidays_country=data.get("holidays_country"),
        )
        return cls(
            own_addresses=frozenset(a.lower() for a in data["own_addresses"]),
            internal_domains=frozenset(d.lower() for d in data.get("internal_domains", [])),
            calendar=calendar,
            languages=tuple(data.get("languages", ["en", "ru", "ro", "es"])),
        )


@dataclass(frozen=True)
class Mismatch:
    file: str  # conversation/NN.eml
    kind: str  # needs_reply | category | direction | language | promise | promise_status
    expected: str
    got: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "kind": self.kind,
            "expected": self.expected,
            "got": self.got,
            "reason": self.reason,
        }


@dataclass
class _PR:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class _Acc:
    right: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        return self.right / self.total if self.total else 1.0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.right += int(ok)


INTENT_TARGET = 0.9  # intent accuracy per language, in the "draft content" section


@dataclass
class DraftContent:
    """What the drafts mailwatch would write for the set say (issue 12).

    For the last client message of each conversation: its intent, the kind it calls for, and
    the draft of that kind rendered with the packaged templates as of the labelled instant;
    for each ``renegotiation`` label, a renegotiation of that promise. Targets: no false date,
    no wrong honorific, no late renegotiation without an apology, no etiquette failure, and
    intent accuracy of at least ``INTENT_TARGET`` in every language.
    """

    drafts: int = 0
    false_dates: int = 0
    renegotiations: int = 0
    late_renegotiations: int = 0
    late_without_apology: int = 0
    greetings_labelled: int = 0
    greetings_right: int = 0
    missing_name: int = 0  # the name was knowable (labelled, or known and allowed) but not used
    wrong_honorific: int = 0
    etiquette_failures: int = 0
    intent: dict[str, _Acc] = field(default_factory=dict)
    kind: _Acc = field(default_factory=_Acc)
    problems: list[Mismatch] = field(default_factory=list)

    def failing(self) -> list[str]:
        low = [
            f"intent_accuracy_{lang}"
            for lang, acc in sorted(self.intent.items())
            if acc.value < INTENT_TARGET
        ]
        counts = {
            "false_dates": self.false_dates,
            "wrong_honorifics": self.wrong_honorific,
            "late_renegotiations_without_apology": self.late_without_apology,
            "etiquette_failures": self.etiquette_failures,
        }
        return low + [name for name, value in counts.items() if value]

    def as_dict(self) -> dict[str, Any]:
        return {
            "drafts": self.drafts,
            "false_dates": self.false_dates,
            "renegotiations": self.renegotiations,
            "late_renegotiations": self.late_renegotiations,
            "late_without_apology": self.late_without_apology,
            "greetings": [self.greetings_right, self.greetings_labelled],
            "greetings_without_knowable_name": self.missing_name,
            "wrong_honorifics": self.wrong_honorific,
            "etiquette_failures": self.etiquette_failures,
            "intent_accuracy": {
                lang: round(acc.value, 4) for lang, acc in sorted(self.intent.items())
            },
            "intent_counts": {
                lang: [acc.right, acc.total] for lang, acc in sorted(self.intent.items())
            },
            "kind_accuracy": round(self.kind.value, 4),
            "problems": [m.as_dict() for m in self.problems],
            "failing": self.failing(),
        }


@dataclass
class Report:
    conversations: int = 0
    messages: int = 0
    needs_reply: _PR = field(default_factory=_PR)
    promises: _PR = field(default_factory=_PR)
    language: dict[str, _PR] = field(default_factory=dict)
    language_accuracy: _Acc = field(default_factory=_Acc)
    category: _Acc = field(default_factory=_Acc)
    direction: _Acc = field(default_factory=_Acc)
    status: _Acc = field(default_factory=_Acc)
    mismatches: list[Mismatch] = field(default_factory=list)
    coverage: Counter[str] = field(default_factory=Counter)
    conversation_languages: Counter[str] = field(default_factory=Counter)
    drafts: DraftContent = field(default_factory=lambda: DraftContent())

    @property
    def language_macro_precision(self) -> float:
        values = [pr.precision for pr in self.language.values()]
        return sum(values) / len(values) if values else 1.0

    @property
    def language_macro_recall(self) -> float:
        values = [pr.recall for pr in self.language.values()]
        return sum(values) / len(values) if values else 1.0

    def figures(self) -> dict[str, float]:
        """The headline figures, each of which must reach the threshold."""
        return {
            "needs_reply_precision": self.needs_reply.precision,
            "needs_reply_recall": self.needs_reply.recall,
            "promise_precision": self.promises.precision,
            "promise_recall": self.promises.recall,
            "language_macro_precision": self.language_macro_precision,
            "language_macro_recall": self.language_macro_recall,
            "language_accuracy": self.language_accuracy.value,
            "category_accuracy": self.category.value,
            "direction_accuracy": self.direction.value,
            "promise_status_accuracy": self.status.value,
        }

    def failing(self, minimum: float) -> list[str]:
        low = [name for name, value in self.figures().items() if value < minimum]
        return low + self.drafts.failing()

    def missing_categories(self) -> list[str]:
        return [c for c in REQUIRED_CATEGORIES if not self.coverage.get(c)]

    def as_dict(self, minimum: float) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "figures": {k: round(v, 4) for k, v in self.figures().items()},
            "needs_reply": self.needs_reply.as_dict(),
            "promises": self.promises.as_dict(),
            "language": {lang: pr.as_dict() for lang, pr in sorted(self.language.items())},
            "counts": {
                "language": [self.language_accuracy.right, self.language_accuracy.total],
                "category": [self.category.right, self.category.total],
                "direction": [self.direction.right, self.direction.total],
                "promise_status": [self.status.right, self.status.total],
            },
            "coverage": dict(sorted(self.coverage.items())),
            "conversation_languages": dict(sorted(self.conversation_languages.items())),
            "draft_content": self.drafts.as_dict(),
            "mismatches": [m.as_dict() for m in self.mismatches],
            "minimum": minimum,
            "failing": self.failing(minimum),
            "missing_categories": self.missing_categories(),
        }


# --------------------------------------------------------------------------- evaluation


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _parse_instant(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise EvalSetError(f"{where}: {text!r} is not an ISO 8601 date-time") from exc
    if value.tzinfo is None:
        raise EvalSetError(f"{where}: {text!r} has no UTC offset")
    return value


def _iso(value: datetime, cfg: SetConfig) -> str:
    return cfg.calendar.local(value).isoformat(timespec="minutes")


@dataclass
class _Seen:
    """One message as the pipeline saw it."""

    file: str
    label: dict[str, Any]
    parsed: ParsedMessage
    direction: Direction
    language: str | None
    promises: list[DetectedPromise]


def _conversation_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "labels.json").is_file())


def evaluate(root: Path | str, tag: str | None = None) -> Report:
    """Run every labelled message of the set through the analysers and compare.

    With ``tag``, only the conversations whose ``labels.json`` carries that tag (for instance
    ``holdout``, the batch written after the analysers were last changed).
    """
    root = Path(root)
    cfg = SetConfig.load(root / "set.json")
    report = Report()
    for conv in _conversation_dirs(root):
        labels = json.loads((conv / "labels.json").read_text(encoding="utf-8"))
        if tag is None or tag in labels.get("tags", []):
            _evaluate_conversation(conv, labels, cfg, report)
    return report


def _evaluate_conversation(
    conv: Path, labels: dict[str, Any], cfg: SetConfig, report: Report
) -> None:
    message_labels: dict[str, dict[str, Any]] = labels.get("messages", {})
    files = sorted(p.name for p in conv.glob("*.eml"))
    if sorted(message_labels) != files:
        raise EvalSetError(f"{conv.name}: labels.json and the .eml files do not match")
    report.conversations += 1
    seen: list[_Seen] = []
    languages_here: Counter[str] = Counter()
    for name in files:
        label = message_labels[name]
        where = f"{conv.name}/{name}"
        parsed = parse_message((conv / name).read_bytes())
        if parsed.date is None:
            raise EvalSetError(f"{where}: no readable Date header")
        direction = message_direction(parsed, None, cfg.own_addresses)
        language = detect_language(parsed.new_text, cfg.languages)
        promises: list[DetectedPromise] = []
        if direction is Direction.OUTBOUND:
            promises = detect_promises(parsed.new_text, parsed.date, cfg.calendar, language)
        item = _Seen(where, label, parsed, direction, language, promises)
        seen.append(item)
        report.messages += 1
        _score_message(item, cfg, report)
        _note_coverage(item, report)
        if label.get("language"):
            languages_here[label["language"]] += 1
    if languages_here:
        report.conversation_languages[languages_here.most_common(1)[0][0]] += 1
    for tag in labels.get("tags", []):
        report.coverage[f"tag:{tag}"] += 1
    for entry in labels.get("promise_status", []):
        _score_status(conv.name, entry, seen, report, cfg)
    _score_drafts(conv.name, labels, seen, cfg, report.drafts)


def _score_message(item: _Seen, cfg: SetConfig, report: Report) -> None:
    label = item.label
    expected_direction = label["direction"]
    report.direction.add(item.direction.value == expected_direction)
    if item.direction.value != expected_direction:
        report.mismatches.append(
            Mismatch(
                item.file,
                "direction",
                expected_direction,
                item.direction.value,
                f"From {item.parsed.from_addr.email if item.parsed.from_addr else None}",
            )
        )

    # needs reply (inbound only; a message we take for our own never needs our reply)
    if expected_direction == "inbound":
        if item.direction is Direction.INBOUND:
            verdict = classify_inbound(item.parsed, cfg.own_addresses, cfg.internal_domains)
            got_needs, got_category, reason = (
                verdict.needs_reply,
                verdict.category.value,
                verdict.reason,
            )
        else:
            got_needs, got_category, reason = False, "own", "taken for our own message"
        want = bool(label["needs_reply"])
        if want and got_needs:
            report.needs_reply.tp += 1
        elif got_needs:
            report.needs_reply.fp += 1
        elif want:
            report.needs_reply.fn += 1
        if want != got_needs:
            report.mismatches.append(
                Mismatch(item.file, "needs_reply", str(want), str(got_needs), reason)
            )
        want_category = label.get("category")
        if want_category is not None:
            report.category.add(want_category == got_category)
            if want_category != got_category:
                report.mismatches.append(
                    Mismatch(item.file, "category", want_category, got_category, reason)
                )

    # language of the new text
    want_lang = label.get("language")
    if want_lang:
        report.language.setdefault(want_lang, _PR())
        got = item.language
        report.language_accuracy.add(got == want_lang)
        if got == want_lang:
            report.language[want_lang].tp += 1
        else:
            report.language[want_lang].fn += 1
            if got is not None:
                report.language.setdefault(got, _PR()).fp += 1
            snippet = " ".join(item.parsed.new_text.split())[:90]
            report.mismatches.append(
                Mismatch(item.file, "language", want_lang, str(got), f"new text: {snippet!r}")
            )

    # promises: due times compared to the minute, each expected one used once
    expected = [
        _minute(_parse_instant(text, item.file)) for text in label.get("promises", []) or []
    ]
    remaining = list(expected)
    for promise in item.promises:
        due = _minute(promise.due_at)
        if due in remaining:
            remaining.remove(due)
            report.promises.tp += 1
        else:
            report.promises.fp += 1
            report.mismatches.append(
                Mismatch(
                    item.file,
                    "promise",
                    "-",
                    _iso(promise.due_at, cfg),
                    f"detected in {promise.text!r}",
                )
            )
    for due in remaining:
        report.promises.fn += 1
        report.mismatches.append(
            Mismatch(
                item.file,
                "promise",
                _iso(due, cfg),
                "-",
                "not detected"
                + (
                    f" (message taken as {item.direction.value})"
                    if item.direction.value != label["direction"]
                    else ""
                ),
            )
        )


def _note_coverage(item: _Seen, report: Report) -> None:
    label = item.label
    category = label.get("category")
    if category == "bulk":
        report.coverage["newsletter"] += 1
    elif category and category != "client":
        report.coverage[category] += 1
    if "refusal" in label.get("tags", []) and label.get("needs_reply"):
        report.coverage["refusal"] += 1
    parsed = item.parsed
    if (
        label["direction"] == "inbound"
        and parsed.thread_index
        and not parsed.references
        and parsed.subject.lower().startswith(("re:", "aw:", "ответ:", "rv:"))
    ):
        report.coverage["outlook_no_references"] += 1
    if (
        label["direction"] == "inbound"
        and label.get("needs_reply")
        and "x-auto-response-suppress" in parsed.markers
    ):
        report.coverage["x_auto_response_suppress_needs_reply"] += 1
    if label.get("promises"):
        report.coverage["promises"] += len(label["promises"])


def _score_status(
    conv: str, entry: dict[str, Any], seen: Sequence[_Seen], report: Report, cfg: SetConfig
) -> None:
    where = f"{conv}/{entry['message']}"
    want_due = _minute(_parse_instant(entry["due_at"], where))
    as_of = _parse_instant(entry["as_of"], where)
    want = entry["status"]
    report.coverage[f"promise_{want}"] += 1
    index = next((i for i, s in enumerate(seen) if s.file == where), None)
    if index is None:
        raise EvalSetError(f"{where}: promise_status names a message that is not in the set")
    item = seen[index]
    found = next((p for p in item.promises if _minute(p.due_at) == want_due), None)
    if found is None:
        report.status.add(False)
        report.mismatches.append(
            Mismatch(where, "promise_status", want, "-", f"no promise due {entry['due_at']}")
        )
        return
    sent_at = item.parsed.date
    assert sent_at is not None
    later = [
        s.parsed.date
        for s in seen
        if s.direction is Direction.OUTBOUND
        and s.parsed.date is not None
        and s.parsed.date > sent_at
    ]
    got = promise_status(found.due_at, as_of, later)
    report.status.add(got == want)
    if got != want:
        report.mismatches.append(
            Mismatch(
                where,
                "promise_status",
                want,
                got,
                f"due {_iso(found.due_at, cfg)}, as of {entry['as_of']}, "
                f"{len(later)} later message(s) of ours",
            )
        )


# --------------------------------------------------------------------------- draft content

_HONORIFICS = re.compile(r"\b(?:doamnă|domnule|Estimada|Estimado|Sra\.|Sr\.|Ms|Mr)(?!\w)")
_NEUTRAL_GREETINGS = frozenset({"Hello,", "Добрый день!", "Bună ziua,", "Buenos días:"})
SIGNATURE = "Elena Rusu\nNordpack SRL\n+373 22 123 456 · elena.rusu@nordpack.md"


def _honorifics(line: str) -> list[str]:
    return _HONORIFICS.findall(line)


def _draft_inputs(
    kind: str,
    target: _Seen,
    seen: Sequence[_Seen],
    cfg: SetConfig,
    now: datetime,
    **dates: Any,
) -> DraftInputs:
    parsed = target.parsed
    own = cfg.own_addresses
    counterpart = next(
        (a for a in (*parsed.reply_to, parsed.from_addr) if a is not None and a.email not in own),
        parsed.from_addr,
    )
    assert parsed.date is not None
    offset = parsed.date.utcoffset()
    earlier = [
        s.parsed.new_text
        for s in reversed(seen)
        if s.direction is Direction.OUTBOUND and s.parsed.date and s.parsed.date <= now
    ]
    inbound_text = parsed.new_text if target.direction is Direction.INBOUND else None
    return build_draft_inputs(
        kind,
        language=target.language or target.label.get("language"),
        thread_subject=parsed.subject,
        counterpart_email=counterpart.email if counterpart else "client@invalid",
        counterpart_name=counterpart.name if counterpart else None,
        counterpart_signature_text=inbound_text,
        sender_name="Elena Rusu",
        signature=SIGNATURE,
        timezone=cfg.calendar.tz_name,
        original_date=parsed.date,
        now=now,
        client_offset_minutes=int(offset.total_seconds() // 60) if offset is not None else None,
        our_earlier_texts=earlier,
        gender_lookup=gender_of_first_name,
        **dates,
    )


def _check_rendered(
    where: str,
    inputs: DraftInputs,
    draft: RenderedDraft,
    content: DraftContent,
) -> None:
    content.drafts += 1
    for problem in check_draft_facts(inputs, draft.body_text, draft.language):
        content.false_dates += 1
        content.problems.append(Mismatch(where, "false_date", "-", problem, draft.kind))
    # passes: nothing to fix, and a name that is known is used (or left out on purpose)
    failed = [
        f
        for f in check_draft(draft)
        if f.level == "fail" or (f.code == "greeting" and not f.ok and inputs.full_name)
    ]
    for finding in failed:
        content.etiquette_failures += 1
        content.problems.append(Mismatch(where, "etiquette", "ok", finding.code, finding.message))


def _score_drafts(
    conv: str, labels: dict[str, Any], seen: Sequence[_Seen], cfg: SetConfig, content: DraftContent
) -> None:
    """Write the drafts mailwatch would write for this conversation and check what they say."""
    label = labels.get("draft") or {}
    target: _Seen | None = None
    if label.get("message"):
        target = next((s for s in seen if s.file == f"{conv}/{label['message']}"), None)
        if target is None:
            raise EvalSetError(f"{conv}: the draft label names a message that is not in the set")
    elif seen and seen[-1].direction is Direction.INBOUND and seen[-1].label.get("needs_reply"):
        target = seen[-1]
    if target is not None and target.parsed.date is not None:
        intent = classify_intent(target.parsed.new_text)
        language = target.label.get("language") or "en"
        if label.get("intent"):
            ok = intent.intent.value == label["intent"]
            content.intent.setdefault(language, _Acc()).add(ok)
            if not ok:
                content.problems.append(
                    Mismatch(
                        target.file, "intent", label["intent"], intent.intent.value, intent.evidence
                    )
                )
        if "kind" in label:
            content.kind.add(intent.kind == label["kind"])
        if intent.kind is not None:
            as_of = label.get("as_of")
            now = (
                _parse_instant(as_of, target.file)
                if as_of
                else target.parsed.date + timedelta(hours=1)
            )
            dates: dict[str, Any] = {}
            if intent.kind == "acknowledgment":
                theirs = detect_requested_deadline(
                    target.parsed.new_text, target.parsed.date, cfg.calendar, target.language
                )
                dates = {
                    "reply_by": answer_by(now, cfg.calendar, 1, theirs),
                    "client_deadline": theirs,
                }
            inputs = _draft_inputs(intent.kind, target, seen, cfg, now, **dates)
            draft = DraftRenderer().render(inputs)
            _check_rendered(target.file, inputs, draft, content)
            _score_greeting(target.file, label, inputs, draft, content)
    renegotiation = labels.get("renegotiation")
    if renegotiation:
        _score_renegotiation(conv, renegotiation, seen, cfg, content)


def _score_greeting(
    where: str,
    label: dict[str, Any],
    inputs: DraftInputs,
    draft: RenderedDraft,
    content: DraftContent,
) -> None:
    got = draft.greeting
    want = label.get("greeting")
    if want is None:
        # unlabelled: the name is knowable when it is known and the proper form allows it
        if got in _NEUTRAL_GREETINGS and inputs.full_name and not inputs.neutral_reason:
            content.missing_name += 1
            content.problems.append(Mismatch(where, "greeting", "a name", got, "name known"))
        return
    content.greetings_labelled += 1
    if got == want:
        content.greetings_right += 1
        return
    if want not in _NEUTRAL_GREETINGS and got in _NEUTRAL_GREETINGS:
        content.missing_name += 1
    if _honorifics(got) and _honorifics(got) != _honorifics(want):
        content.wrong_honorific += 1
    content.problems.append(Mismatch(where, "greeting", want, got, inputs.gender_evidence))


def _score_renegotiation(
    conv: str, entry: dict[str, Any], seen: Sequence[_Seen], cfg: SetConfig, content: DraftContent
) -> None:
    where = f"{conv}/{entry['message']}"
    ours = next((s for s in seen if s.file == where), None)
    if ours is None or not ours.promises or ours.parsed.date is None:
        content.problems.append(Mismatch(where, "renegotiation", "a promise", "-", "none detected"))
        content.false_dates += 1
        return
    promise = ours.promises[0]
    now = _parse_instant(entry["as_of"], where)
    client = next((s for s in reversed(seen) if s.direction is Direction.INBOUND), ours)
    inputs = _draft_inputs(
        "renegotiation",
        client,
        [s for s in seen if s.parsed.date and s.parsed.date <= now],
        cfg,
        now,
        old_date=promise.due_at,
        new_date=_parse_instant(entry["new_date"], where),
        promised_on=ours.parsed.date,
    )
    draft = DraftRenderer().render(inputs)
    content.renegotiations += 1
    if inputs.late != bool(entry.get("late", inputs.late)):
        content.problems.append(
            Mismatch(where, "renegotiation", f"late={entry.get('late')}", f"late={inputs.late}", "")
        )
    if inputs.late:
        content.late_renegotiations += 1
        if late_without_apology(inputs, draft.body_text):
            content.late_without_apology += 1
            content.problems.append(Mismatch(where, "renegotiation", "an apology", "none", ""))
    _check_rendered(where, inputs, draft, content)


# --------------------------------------------------------------------------- output


def _print_report(report: Report, minimum: float, check_coverage: bool = True) -> None:
    console = Console()
    console.print(
        f"[bold]mailwatch evaluation[/]: {report.conversations} conversations, "
        f"{report.messages} messages "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.conversation_languages.items()))})",
        soft_wrap=True,
    )

    def fmt(value: float) -> str:
        text = f"{value:.3f}"
        return text if value >= minimum else f"[bold red]{text}[/]"

    table = Table(title=f"Figures (threshold {minimum:.2f})")
    table.add_column("measure")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    table.add_column("counts", justify="right")
    nr, pr = report.needs_reply, report.promises
    table.add_row(
        "needs reply", fmt(nr.precision), fmt(nr.recall), f"tp {nr.tp} fp {nr.fp} fn {nr.fn}"
    )
    table.add_row(
        "promise due times", fmt(pr.precision), fmt(pr.recall), f"tp {pr.tp} fp {pr.fp} fn {pr.fn}"
    )
    for lang, lpr in sorted(report.language.items()):
        table.add_row(
            f"  language {lang}",
            f"{lpr.precision:.3f}",
            f"{lpr.recall:.3f}",
            f"tp {lpr.tp} fp {lpr.fp} fn {lpr.fn}",
        )
    table.add_row(
        "language (macro)",
        fmt(report.language_macro_precision),
        fmt(report.language_macro_recall),
        "",
    )
    for title, acc in (
        ("language accuracy", report.language_accuracy),
        ("category accuracy", report.category),
        ("direction accuracy", report.direction),
        ("promise status accuracy", report.status),
    ):
        table.add_row(title, fmt(acc.value), "", f"{acc.right}/{acc.total}")
    console.print(table)

    _print_drafts(console, report.drafts)

    coverage = ", ".join(f"{k} {v}" for k, v in sorted(report.coverage.items()))
    console.print(f"[bold]Coverage[/]: {coverage}", highlight=False, soft_wrap=True)
    if check_coverage and report.missing_categories():
        console.print(f"[bold red]Missing categories[/]: {', '.join(report.missing_categories())}")

    if report.mismatches:
        console.print(f"[bold]Mismatches ({len(report.mismatches)})[/]")
        for m in report.mismatches:
            console.print(
                f"  {m.file}  {m.kind}: expected {m.expected}, got {m.got} - {m.reason}",
                highlight=False,
                soft_wrap=True,
            )
    else:
        console.print("No mismatches.")
    failing = report.failing(minimum)
    if failing:
        console.print(f"[bold red]Below {minimum:.2f}[/]: {', '.join(failing)}")


def _print_drafts(console: Any, drafts: DraftContent) -> None:
    def count(value: int, target_zero: bool = True) -> str:
        return f"[bold red]{value}[/]" if target_zero and value else str(value)

    table = Table(title="Draft content (the drafts mailwatch writes for the set)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("drafts written", str(drafts.drafts), "")
    table.add_row("false dates", count(drafts.false_dates), "0")
    table.add_row(
        "late renegotiations without an apology",
        f"{count(drafts.late_without_apology)} of {drafts.late_renegotiations}",
        "0",
    )
    table.add_row(
        "greetings as labelled", f"{drafts.greetings_right}/{drafts.greetings_labelled}", ""
    )
    table.add_row("greetings without the name where knowable", str(drafts.missing_name), "")
    table.add_row("wrong honorifics", count(drafts.wrong_honorific), "0")
    table.add_row("etiquette check failures", count(drafts.etiquette_failures), "0")
    for lang, acc in sorted(drafts.intent.items()):
        text = f"{acc.value:.3f} ({acc.right}/{acc.total})"
        if acc.value < INTENT_TARGET:
            text = f"[bold red]{text}[/]"
        table.add_row(f"intent accuracy {lang}", text, f">= {INTENT_TARGET}")
    table.add_row(
        "intent -> kind accuracy",
        f"{drafts.kind.value:.3f} ({drafts.kind.right}/{drafts.kind.total})",
        "",
    )
    console.print(table)
    for m in drafts.problems:
        console.print(
            f"  {m.file}  {m.kind}: expected {m.expected}, got {m.got} - {m.reason}",
            highlight=False,
            soft_wrap=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailwatch.evaluation",
        description="Precision and recall of needs-reply, promise dates and language on a "
        "labelled set of conversations.",
    )
    parser.add_argument(
        "directory", type=Path, help="the set (with set.json), e.g. tests/data/eval"
    )
    parser.add_argument(
        "--min",
        type=float,
        default=DEFAULT_MIN,
        dest="minimum",
        help="exit 1 when any headline figure is below this (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--tag",
        help="only the conversations carrying this tag in labels.json (e.g. holdout); "
        "the check that every required category is present is then skipped",
    )
    args = parser.parse_args(argv)
    try:
        report = evaluate(args.directory, args.tag)
    except (EvalSetError, OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(args.minimum), ensure_ascii=False, indent=2))
    else:
        _print_report(report, args.minimum, check_coverage=args.tag is None)
    missing = report.missing_categories() if args.tag is None else []
    return 1 if report.failing(args.minimum) or missing else 0


if __name__ == "__main__":
    sys.exit(main())
