"""The shape of the code: one-way layers, no cycles, no hidden imports, a current diagram.

docs/architecture.md explains the layers; these tests keep the code and that page honest.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mailwatch"

spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
assert spec is not None and spec.loader is not None
import_graph = importlib.util.module_from_spec(spec)
spec.loader.exec_module(import_graph)


def test_no_cycle_between_parts() -> None:
    found = import_graph.cycles(import_graph.part_edges())
    assert found == [], "import cycles between parts of mailwatch: " + "; ".join(
        " <-> ".join(group) for group in found
    )


def test_cycle_finder_finds_a_cycle() -> None:
    edges = Counter({("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 2, ("c", "d"): 1})
    assert import_graph.cycles(edges) == [["a", "b", "c"]]
    assert import_graph.cycles(Counter({("a", "b"): 1, ("b", "c"): 1})) == []


def test_layers_hold() -> None:
    """import-linter's contracts (pyproject.toml) hold: no layer is reached backwards."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_diagram_in_docs_is_current() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert import_graph.current_block(text) == import_graph.generated_block(), (
        "docs/architecture.md's import diagram is stale: run `python scripts/import_graph.py --write`"
    )


def _says_lazy(lines: list[str], index: int) -> bool:
    """``# lazy:`` on the import's line, or on a line just above its group of imports."""
    if "# lazy:" in lines[index]:
        return True
    index -= 1
    while index >= 0:
        text = lines[index].strip()
        if "# lazy:" in text:
            return True
        if not text or text.startswith(("import ", "from ", "#", ")")) or text.endswith(","):
            index -= 1
            continue
        return False
    return False


def _function_local_imports(path: Path) -> list[tuple[int, str]]:
    """Imports inside a function body that carry no ``# lazy:`` reason on or above their line."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Import | ast.ImportFrom):
                continue
            if not _says_lazy(lines, inner.lineno - 1):
                found.append((inner.lineno, lines[inner.lineno - 1].strip()))
    return found


def test_function_local_imports_say_why() -> None:
    """An import inside a function hides a dependency; it is allowed only to keep start-up fast."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in _function_local_imports(path)
    ]
    assert offenders == [], (
        "function-local imports without a `# lazy: <why>` comment:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    import json\n", 1),
        ("def f():\n    # lazy: keeps --help fast\n    import json\n", 0),
        ("def f():\n    import json  # lazy: keeps --help fast\n", 0),
        ("import json\n", 0),
        ("def f():\n    # lazy: start-up\n    import json\n\n    from os import path\n", 0),
        ("def f():\n    # lazy: start-up\n    import json\n    x = 1\n    import os\n", 1),
    ],
)
def test_local_import_scan(tmp_path: Path, source: str, expected: int) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert len(_function_local_imports(path)) == expected
