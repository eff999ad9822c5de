"""config.example.env and docs/configuration.md, written from the settings table.

Why generated: the table in :mod:`mailwatch.config` is the one place a setting is described, so
the example file and the reference page cannot drift from what the code reads (a test compares
them). After adding or changing a setting, run from the project root::

    .venv/bin/python -m mailwatch.settings_docs --write
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from mailwatch.config import PREFIX, SECTIONS, SETTINGS, Setting

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path("config.example.env")
REFERENCE = Path("docs") / "configuration.md"
_WIDTH = 96


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH - 2, initial_indent="# ", subsequent_indent="# ")


def _default_words(setting: Setting) -> str:
    if setting.default_note:
        return setting.default_note
    return setting.default if setting.default != "" else "empty"


def example_env() -> str:
    """The example settings file: every key, its help as a comment, a value that loads."""
    lines = [
        "# mailwatch settings: copy to .env and fill in. Generated from the settings table in",
        "# mailwatch/config.py (python -m mailwatch.settings_docs --write); docs/configuration.md",
        "# describes each key. The process environment overrides this file. A wrong value or an",
        "# unknown MAILWATCH_* key stops start-up with one line naming the key.",
    ]
    for section in SECTIONS:
        lines += ["", f"# --- {section} " + "-" * max(3, _WIDTH - 7 - len(section))]
        for setting in (s for s in SETTINGS if s.section == section):
            note = f" Default: {_default_words(setting)}." if setting.example is not None else ""
            if setting.default_note and setting.example is None:
                note = f" Default: {setting.default_note}."
            secret = " Never shown or logged." if setting.secret else ""
            lines += _comment(f"{setting.help}{note}{secret}")
            value = setting.example if setting.example is not None else setting.default
            lines.append(f"{PREFIX}{setting.key}={value}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def configuration_md() -> str:
    """The reference page: one table per section."""
    out = [
        "# Configuration",
        "",
        "Every setting is a `MAILWATCH_<KEY>` in `.env` (or the file named with `--env-file`) or in",
        "the process environment, which wins. A wrong value, an unknown `MAILWATCH_*` key (with a",
        '"did you mean" suggestion) or an `--env-file` that does not exist stops start-up with one',
        "line naming the key, before anything is created or sent. `mailwatch init` checks the whole",
        "configuration before it creates the database.",
        "",
        "**Several mailboxes**: `MAILWATCH_MAILBOXES=sales,support`; the unprefixed keys are the",
        "first mailbox, and each further one sets the keys of scope *mailbox* as",
        "`MAILWATCH_SUPPORT_IMAP_USERNAME=…`; a key it leaves unset is the first mailbox's.",
        "",
        "This page and `config.example.env` are generated from the settings table in",
        "`mailwatch/config.py` (`python -m mailwatch.settings_docs --write`); a test fails when",
        "they drift. Secrets are never shown (the web page says only *set* or *not set*) and never",
        "logged.",
    ]
    for section in SECTIONS:
        out += [
            "",
            f"## {section}",
            "",
            "| key | default | type | scope | what it does |",
            "|---|---|---|---|---|",
        ]
        for s in (s for s in SETTINGS if s.section == section):
            default = f"`{s.default}`" if s.default and not s.default_note else _default_words(s)
            flags = s.scope + (", secret" if s.secret else "")
            out.append(
                f"| `{s.key}` | {_cell(default)} | {_cell(s.type)} | {flags} | {_cell(s.help)} |"
            )
    return "\n".join(out) + "\n"


def generated() -> dict[Path, str]:
    return {EXAMPLE: example_env(), REFERENCE: configuration_md()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the files")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project root")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in generated().items():
        path = args.root / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.write:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
        else:
            stale.append(str(rel))
    if stale:
        print(f"out of date: {', '.join(stale)} (run with --write)", file=sys.stderr)
        return 1
    if not args.write:
        print("config.example.env and docs/configuration.md match the settings table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
