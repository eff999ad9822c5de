"""``_set_ids`` fills in a fresh ThreadView's ids (faster than ``dataclasses.replace``): it must
give exactly what ``replace`` gives, whatever order the fields are declared in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from mailwatch.views.threads import Counterpart, ThreadState, ThreadView, _set_ids


def test_set_ids_equals_dataclasses_replace() -> None:
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    values: dict[str, object] = {}
    for number, field in enumerate(f for f in dataclasses.fields(ThreadView) if f.init):
        # a distinct value per field, of its kind, so that two fields swapped cannot pass
        kind = str(field.type)
        if "datetime" in kind:
            values[field.name] = base + timedelta(minutes=number)
        elif kind.startswith("int") or kind == "int | None":
            values[field.name] = 1000 + number
        elif kind == "bool":
            values[field.name] = True
        elif "ThreadState" in kind:
            values[field.name] = ThreadState.AWAITING_US
        elif "Counterpart" in kind:
            values[field.name] = Counterpart("Ana", "ana@client.example")
        elif "tuple" in kind:
            values[field.name] = ()
        else:
            values[field.name] = f"{field.name}-{number}"
    row = ThreadView(**values)  # type: ignore[arg-type]
    ids = ["<a@x>", "<b@x>", "<c@x>"]
    expected = dataclasses.replace(row, message_ids=tuple(ids), message_count=len(ids))
    _set_ids(row, ids)
    assert row == expected
    assert dataclasses.astuple(row) == dataclasses.astuple(expected)
