"""The records that cross to the analysis worker and back pickle as their field values.

A frozen dataclass with ``slots=True`` pickles through the ``__getstate__``/``__setstate__``
that :mod:`dataclasses` gives it, which look the class's fields up again for every object:
unpickling the worker's results cost the sync's process about half a second of a
20,000-message backfill in ``dataclasses.fields`` alone. :func:`tuple_pickled` reduces a
record to its class and its field values, in field order, and the class's own constructor
rebuilds it (these records' constructors only store their fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from operator import attrgetter
from typing import Any, TypeVar

__all__ = ["tuple_pickled"]

T = TypeVar("T")


def tuple_pickled(cls: type[T]) -> type[T]:
    """Pickle ``cls`` (a dataclass whose constructor takes every field and only stores them)
    as ``cls(*field values)``."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    declared = fields(cls)
    if any(not f.init for f in declared) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: its constructor does more than store its fields")
    names = tuple(f.name for f in declared)
    values: Callable[[Any], tuple[Any, ...]]
    if len(names) == 1:
        only = attrgetter(names[0])

        def values(record: Any) -> tuple[Any, ...]:
            return (only(record),)

    else:
        values = attrgetter(*names)  # one C call: the tuple of every field's value

    def __reduce__(self: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls
