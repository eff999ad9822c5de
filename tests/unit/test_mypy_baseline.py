"""scripts/mypy_baseline.py: a module may not gain errors, a fixed one must lower the baseline,
and the strict packages may have none (the comparison, on mypy output written by hand)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mypy_baseline.py"
_spec = importlib.util.spec_from_file_location("mypy_baseline", SCRIPT)
assert _spec is not None and _spec.loader is not None
mb = importlib.util.module_from_spec(_spec)
sys.modules["mypy_baseline"] = mb  # dataclasses look the module up by name
_spec.loader.exec_module(mb)

OUTPUT = """\
mailwatch/cli.py:17: error: Module "x" does not explicitly export attribute "Y"  [attr-defined]
mailwatch/cli.py:40:5: error: Need type annotation for "z"  [var-annotated]
mailwatch/cli.py:40: note: See https://mypy.readthedocs.io
mailwatch/web/app.py:3: error: Returning Any from function declared to return "int"  [no-any-return]
Found 3 errors in 2 files (checked 87 source files)
""".splitlines()


def test_errors_are_counted_per_file_and_notes_are_not() -> None:
    assert mb.count_errors(OUTPUT) == {"mailwatch/cli.py": 2, "mailwatch/web/app.py": 1}


def test_same_counts_pass() -> None:
    verdict = mb.compare(
        {"mailwatch/cli.py": 2, "mailwatch/web/app.py": 1}, mb.count_errors(OUTPUT)
    )
    assert verdict.ok


def test_a_new_error_fails() -> None:
    verdict = mb.compare(
        {"mailwatch/cli.py": 1, "mailwatch/web/app.py": 1}, mb.count_errors(OUTPUT)
    )
    assert not verdict.ok
    assert verdict.worse == {"mailwatch/cli.py": (1, 2)}


def test_an_unlisted_module_with_errors_fails() -> None:
    verdict = mb.compare({"mailwatch/cli.py": 2}, mb.count_errors(OUTPUT))
    assert verdict.worse == {"mailwatch/web/app.py": (0, 1)}


def test_a_fixed_error_must_lower_the_baseline() -> None:
    verdict = mb.compare(
        {"mailwatch/cli.py": 3, "mailwatch/web/app.py": 1, "mailwatch/gone.py": 2},
        mb.count_errors(OUTPUT),
    )
    assert not verdict.ok
    assert verdict.better == {"mailwatch/cli.py": (3, 2), "mailwatch/gone.py": (2, 0)}


@pytest.mark.parametrize(
    "path", ["mailwatch/store/mail.py", "mailwatch/mail/imap.py", "mailwatch/core/x.py"]
)
def test_strict_packages_may_have_no_error_even_with_a_baseline(path: str) -> None:
    line = f"{path}:1: error: boom  [misc]"
    verdict = mb.compare({path: 5}, mb.count_errors([line]))
    assert verdict.unclean == [path]
    assert not verdict.ok


def test_the_baseline_round_trips_and_drops_clean_modules() -> None:
    text = mb.render_baseline(
        {"mailwatch/web/app.py": 1, "mailwatch/cli.py": 2, "mailwatch/ok.py": 0}
    )
    assert text.startswith("#")
    assert mb.read_baseline(text) == {"mailwatch/cli.py": 2, "mailwatch/web/app.py": 1}


def test_a_malformed_baseline_line_is_named() -> None:
    with pytest.raises(SystemExit, match=r"mypy-baseline\.txt:1: expected 'path count'"):
        mb.read_baseline("mailwatch/cli.py two\n")


def test_the_checked_in_baseline_names_no_strict_package() -> None:
    baseline = mb.read_baseline(mb.BASELINE.read_text())
    assert [path for path in baseline if mb.must_be_clean(path)] == []


def test_the_strict_modules_come_from_pyproject(tmp_path: Path) -> None:
    assert {"mailwatch/core/", "mailwatch/mail/", "mailwatch/store/"} <= set(mb.CLEAN)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[[tool.mypy.overrides]]\nmodule = ["a.b.*", "a.c"]\nstrict = true\n'
        '[[tool.mypy.overrides]]\nmodule = "x.*"\nignore_missing_imports = true\n'
    )
    assert mb.strict_paths(pyproject) == ("a/b/", "a/c.py")
