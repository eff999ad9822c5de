"""The transports sit below sync, send and drafts (issue #15): ``mail/`` imports none of the
packages that use it, sync and send do not import each other, and sync does not reach up into
the service. Every import counts, function-local ones too (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mailwatch"


def imports_of(package: str) -> set[tuple[str, str]]:
    """(file, imported mailwatch module) for every import statement in ``package``."""
    found: set[tuple[str, str]] = set()
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            rel = str(path.relative_to(PACKAGE.parent))
            found.update((rel, name) for name in names if name.startswith("mailwatch"))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "mail",
            (
                "mailwatch.sync",
                "mailwatch.send",
                "mailwatch.drafts",
                "mailwatch.service",
                "mailwatch.store",
                "mailwatch.track",
                "mailwatch.web",
                "mailwatch.cli",
            ),
        ),
        ("sync", ("mailwatch.send", "mailwatch.service", "mailwatch.web", "mailwatch.cli")),
        ("send", ("mailwatch.sync", "mailwatch.service", "mailwatch.web", "mailwatch.cli")),
    ],
)
def test_no_import_against_the_layers(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{file} imports {module}"
        for file, module in imports_of(package)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    )
    assert wrong == []


def test_the_transports_are_in_mail() -> None:
    assert {"imap.py", "smtp.py", "smtp_check.py"} <= {p.name for p in (PACKAGE / "mail").iterdir()}
    assert not (PACKAGE / "sync" / "imap.py").exists()
    assert not (PACKAGE / "send" / "smtp.py").exists()
