"""Which schema revision the code expects, read from the migration files' text.

No SQLAlchemy or Alembic here: every command that opens the store checks the revision first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from mailwatch.paths import data_dir

__all__ = ["head_revisions", "is_head"]

# ``revision: str = "0011"`` and ``down_revision: str | None = "0010"`` (or a tuple, or None),
# as the migration template writes them.
_REVISION = re.compile(r"^revision\b[^=\n]*=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest migration(s) (Alembic's heads), read from the text of the migration files.

    Why not Alembic's ScriptDirectory: importing Alembic and loading every migration module
    costs ~175 ms of CPU before each command reads anything; this reads ten small files once
    per process. A test proves it gives Alembic's answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((data_dir("migrations") / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)


def is_head(stored: Iterable[str]) -> bool:
    """The ``alembic_version`` rows read from a store are exactly the newest migration(s)."""
    heads = head_revisions()
    return bool(heads) and set(stored) == heads
