"""The records that cross to the analysis worker pickle as their field values, unchanged."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field, fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.analysis import MessageAnalysis
from mailwatch.core.bodystructure import TextPart
from mailwatch.core.message import Address, ParsedMessage
from mailwatch.core.parse import RawMessage
from mailwatch.core.pickling import tuple_pickled
from mailwatch.core.promises.engine import DetectedPromise
from mailwatch.core.warning_signs import WarningSign

RECORDS = [
    Address,
    ParsedMessage,
    MessageAnalysis,
    WarningSign,
    DetectedPromise,
    RawMessage,
    TextPart,
]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_a_record_comes_back_equal_from_pickle_and_copy(
    cls: type[Any], data: st.DataObject
) -> None:
    record = data.draw(st.from_type(cls))
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(record, protocol=protocol))
        assert type(back) is cls
        assert back == record
    assert copy.copy(record) == record
    assert copy.deepcopy(record) == record


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_a_record_pickles_as_its_constructor_and_field_values(
    cls: type[Any], data: st.DataObject
) -> None:
    """Not dataclasses' per-object state (which looks every field up again): the class and
    the values, in field order."""
    record = data.draw(st.from_type(cls))
    assert record.__reduce_ex__(pickle.HIGHEST_PROTOCOL) == (
        cls,
        tuple(getattr(record, f.name) for f in fields(cls)),
    )


def test_a_record_whose_constructor_does_more_is_refused() -> None:
    with pytest.raises(TypeError, match="does more than store"):

        @tuple_pickled
        @dataclass(frozen=True)
        class Checked:
            value: int

            def __post_init__(self) -> None:
                assert self.value >= 0

    with pytest.raises(TypeError, match="does more than store"):

        @tuple_pickled
        @dataclass
        class Derived:
            value: int
            twice: int = field(init=False, default=0)

    with pytest.raises(TypeError, match="not a dataclass"):
        tuple_pickled(int)


def test_a_one_field_record_pickles_too() -> None:
    @tuple_pickled
    @dataclass(frozen=True, slots=True)
    class One:
        value: str

    # a local class cannot be pickled by reference: the reduction itself is what matters
    rebuild, args = One("x").__reduce__()  # type: ignore[misc]
    assert rebuild is One and args == ("x",)
    assert rebuild(*args) == One("x")
