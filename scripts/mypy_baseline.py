#!/usr/bin/env python3
"""mypy on the whole ``mailwatch`` package, against a per-module baseline that can only shrink.

The strict modules (``[[tool.mypy.overrides]]`` with ``strict = true`` in pyproject.toml) must
have no error at all: making a module strict there is how it joins them. Every other module may keep at most the number of errors written for it in
``mypy-baseline.txt``; ``make typecheck`` fails when a module has more (its errors are printed)
or fewer (then the baseline must be lowered, so that the fix cannot be undone unnoticed).

    .venv/bin/python scripts/mypy_baseline.py            # check (what `make typecheck` runs)
    .venv/bin/python scripts/mypy_baseline.py --update   # rewrite the baseline from this run

``--update`` refuses to record errors in a package that must stay clean.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
TARGET = "mailwatch"


def strict_paths(pyproject: Path) -> tuple[str, ...]:
    """The modules pyproject.toml makes strict, as path prefixes: they must have no error."""
    overrides = tomllib.loads(pyproject.read_text())["tool"]["mypy"].get("overrides", [])
    paths: list[str] = []
    for override in overrides:
        if not override.get("strict"):
            continue
        modules = override["module"]
        for module in [modules] if isinstance(modules, str) else modules:
            if module.endswith(".*"):
                paths.append(module[:-2].replace(".", "/") + "/")
            else:
                paths.append(module.replace(".", "/") + ".py")
    return tuple(sorted(paths))


CLEAN = strict_paths(ROOT / "pyproject.toml")
# Files of those packages that another change of issue #15 moves away; drop once merged.
CLEAN_EXCEPT: frozenset[str] = frozenset()

HEADER = """\
# mypy errors per module outside the strict packages: may only shrink (scripts/mypy_baseline.py).
# Regenerate after fixing errors: .venv/bin/python scripts/mypy_baseline.py --update
"""

_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: ")


@dataclass(frozen=True)
class Verdict:
    worse: dict[str, tuple[int, int]]  # path -> (allowed, found)
    better: dict[str, tuple[int, int]]
    unclean: list[str]  # files of CLEAN packages with errors

    @property
    def ok(self) -> bool:
        return not (self.worse or self.better or self.unclean)


def must_be_clean(path: str) -> bool:
    return path.startswith(CLEAN) and path not in CLEAN_EXCEPT


def count_errors(lines: Iterable[str]) -> Counter[str]:
    """Errors per file in mypy's output (notes and the summary line are not errors)."""
    counts: Counter[str] = Counter()
    for line in lines:
        match = _ERROR.match(line)
        if match:
            counts[match["path"]] += 1
    return counts


def read_baseline(text: str) -> dict[str, int]:
    baseline: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            path, count = line.rsplit(maxsplit=1)
            baseline[path] = int(count)
        except ValueError:
            raise SystemExit(
                f"{BASELINE.name}:{number}: expected 'path count', got {raw!r}"
            ) from None
    return baseline


def render_baseline(counts: Mapping[str, int]) -> str:
    rows = [f"{path} {count}" for path, count in sorted(counts.items()) if count]
    return HEADER + "".join(row + "\n" for row in rows)


def compare(baseline: Mapping[str, int], counts: Mapping[str, int]) -> Verdict:
    worse: dict[str, tuple[int, int]] = {}
    better: dict[str, tuple[int, int]] = {}
    for path in sorted(set(baseline) | set(counts)):
        allowed, found = baseline.get(path, 0), counts.get(path, 0)
        if must_be_clean(path):
            continue
        if found > allowed:
            worse[path] = (allowed, found)
        elif found < allowed:
            better[path] = (allowed, found)
    unclean = sorted(path for path, found in counts.items() if found and must_be_clean(path))
    return Verdict(worse, better, unclean)


def run_mypy() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", TARGET],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"mypy failed to run (exit {proc.returncode})")
    return proc.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--update", action="store_true", help="rewrite mypy-baseline.txt")
    args = parser.parse_args(argv)
    output = run_mypy()
    counts = count_errors(output)
    baseline = read_baseline(BASELINE.read_text() if BASELINE.exists() else "")
    verdict = compare(baseline, counts)

    def errors_of(paths: Iterable[str]) -> None:
        wanted = set(paths)
        for line in output:
            match = _ERROR.match(line)
            if match and match["path"] in wanted:
                print("  " + line)

    if verdict.unclean:
        print("mypy: errors in packages that must stay clean (" + ", ".join(CLEAN) + "):")
        errors_of(verdict.unclean)
    if args.update:
        if verdict.unclean:
            print("baseline not written: fix these first")
            return 1
        BASELINE.write_text(render_baseline(counts))
        print(f"{BASELINE.name}: {sum(counts.values())} errors in {len(counts)} modules")
        return 0
    for path, (allowed, found) in verdict.worse.items():
        print(f"mypy: {path} has {found} errors, the baseline allows {allowed}:")
        errors_of([path])
    for path, (allowed, found) in verdict.better.items():
        print(f"mypy: {path} has {found} errors, fewer than its baseline {allowed}")
    if verdict.better:
        print("lower the baseline: .venv/bin/python scripts/mypy_baseline.py --update")
    if verdict.ok:
        print(f"mypy: {sum(counts.values())} errors, none beyond {BASELINE.name}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
