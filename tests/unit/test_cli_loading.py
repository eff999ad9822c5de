"""``cli.context.loading``: a read command's imports run without garbage collection, then the
objects so far are frozen out of later collections, and the collector is on again, also when
an import fails. Only in the real process: an app called from a test leaves the collector be.

Each case runs in its own interpreter: freezing the test process's objects would keep them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_in_the_real_process_imports_run_without_collection_then_are_frozen() -> None:
    out = run(
        """
        import gc
        from mailwatch.cli.context import loading, whole_process
        whole_process()
        with loading():
            during = gc.isenabled()
            import mailwatch.views.threads
        print(during, gc.isenabled(), gc.get_freeze_count() > 10_000)
        """
    )
    assert out == "False True True"


def test_a_failing_import_still_turns_the_collector_back_on() -> None:
    out = run(
        """
        import gc
        from mailwatch.cli.context import loading, whole_process
        whole_process()
        try:
            with loading():
                import mailwatch_no_such_module
        except ImportError:
            pass
        print(gc.isenabled())
        """
    )
    assert out == "True"


def test_an_app_called_in_a_test_process_keeps_the_collector_as_is() -> None:
    out = run(
        """
        import gc
        from mailwatch.cli.context import loading
        with loading():
            during = gc.isenabled()
            import mailwatch.views.threads
        print(during, gc.isenabled(), gc.get_freeze_count())
        """
    )
    assert out == "True True 0"


def test_the_command_line_entry_point_is_the_whole_process() -> None:
    """``mailwatch`` (the console script) and ``python -m mailwatch`` both go through main()."""
    out = run(
        """
        import mailwatch.cli as cli
        from mailwatch.cli import context
        try:
            cli.main()
        except SystemExit:
            pass
        print(context._process.whole)
        """
    )
    assert out.splitlines()[-1] == "True"  # (after the usage text: no command was given)


def test_the_process_keeps_one_malloc_arena_unless_the_operator_chose(tmp_path):
    """glibc on this machine: mallopt(M_ARENA_MAX) takes; with MALLOC_ARENA_MAX set in the
    environment nothing is changed (the operator's value stays)."""
    import subprocess
    import sys

    code = "from mailwatch.cli.context import limit_malloc_arenas as f; print(f())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "True", done.stderr
    env["MALLOC_ARENA_MAX"] = "4"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False", done.stderr


def test_a_read_command_runs_without_collection_in_the_real_process_only() -> None:
    out = run(
        """
        import gc
        from mailwatch.cli.context import short_read, whole_process
        short_read()
        in_a_test = gc.isenabled()
        whole_process()
        short_read()
        print(in_a_test, gc.isenabled())
        """
    )
    assert out == "True False"
