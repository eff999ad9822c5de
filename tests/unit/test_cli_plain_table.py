"""``print_table`` writes what ``console.print(table)`` writes, for every table and console.

Random tables of the shapes the read commands print (columns with and without ``no_wrap``,
headers and cells as ``str`` with markup or emoji codes and as ``Text`` with styles, cells of
several lines, empty ones, wide, combining and control characters, a title or none) on
consoles of random widths, with and without colour: the text must be rich's own, whether
the plain layout took it or rich did. And it must take most plain tables that fit.
"""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailwatch.cli.plain_table import plain_lines, print_table

PLAIN = [
    "a", "word", "Zoë", "«client»", "client@example.net", " ", "  ", "-", "1d 3h",
    "Сводка", "\n", "[b]", "[red]x[/]", "#12", "(", ")", "over",
    "https://mail.example/drafts/3?t=abc.def",
]  # fmt: skip
ODD = [":smile:", "日本", "e\u0301", "\t", "\x1b", "\u202e", "\u00ad", "\r"]
PIECES = PLAIN * 6 + ODD  # (mostly plain: the odd ones leave the table to rich)


def texts(most: int = 6) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(PIECES), max_size=most).map("".join)


WIDTHS = st.one_of(st.sampled_from([400, 80]), st.integers(8, 200))


@st.composite
def cells(draw: st.DrawFn) -> str | Text:
    plain = draw(texts())
    if draw(st.booleans()):
        return plain
    text = Text(plain, style=draw(st.sampled_from(["", "bold", "red", "dim"])))
    if draw(st.integers(0, 4)) == 0:
        text.append(draw(texts()), style="blue")
    return text


@st.composite
def tables(draw: st.DrawFn) -> Table:
    title = draw(st.one_of(st.none(), texts(2), texts()))
    table = Table(title=title, title_justify="left")
    count = draw(st.integers(1, 5))
    for index in range(count):
        table.add_column(draw(texts()) or f"c{index}", no_wrap=draw(st.booleans()))
    for _row in range(draw(st.integers(0, 6))):
        table.add_row(*[draw(cells()) for _ in range(count)])
    return table


def printed(table: Table, width: int, colour: bool, fast: bool) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=colour, color_system="truecolor" if colour else None
    )
    if fast:
        print_table(console, table)
    else:
        console.print(table)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(tables(), WIDTHS, st.booleans())
def test_print_table_writes_what_rich_writes(table: Table, width: int, colour: bool) -> None:
    assert printed(table, width, colour, fast=True) == printed(table, width, colour, fast=False)


def test_the_random_tables_often_take_the_plain_layout() -> None:
    """(So that the comparison above checks the plain layout, not only rich against itself.)"""
    taken = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(tables(), WIDTHS)
    def count(table: Table, width: int) -> None:
        taken.append(plain_lines(Console(file=io.StringIO(), width=width), table) is not None)

    count()
    assert sum(taken) > len(taken) // 5


def test_a_plain_table_that_fits_takes_the_plain_layout() -> None:
    table = Table(title="drafts to approve (2)", title_justify="left")
    for column in ("draft", "kind", "to", "subject"):
        table.add_column(column, no_wrap=column == "draft")
    table.add_row("1", Text("reply", "bold"), Text("Zoë «x»"), Text("Re: offer\nsecond line"))
    table.add_row("22", "[red]ack[/]", Text(""), Text("[b] is not markup", "dim"))
    console = Console(file=io.StringIO(), width=400)
    lines = plain_lines(console, table)
    assert lines is not None and len(lines) == 8  # title, 3 rules, header, 3 lines
    assert printed(table, 400, False, fast=True) == printed(table, 400, False, fast=False)
    assert "[b] is not markup" in lines[-2] and " ack " in lines[-2]


def test_what_the_plain_layout_leaves_to_rich() -> None:
    def table(*cells: str | Text, title: str = "t") -> Table:
        made = Table(title=title, title_justify="left")
        made.add_column("h")
        for cell in cells:
            made.add_row(cell)
        return made

    plain = Console(file=io.StringIO(), width=40)
    assert plain_lines(plain, table("fits")) is not None
    assert plain_lines(plain, table("x" * 40)) is None  # would wrap
    assert plain_lines(plain, table("日本")) is None  # two columns a character
    assert plain_lines(plain, table("a\tb")) is None
    assert plain_lines(plain, table("ok", title="a title longer than the table")) is None
    colour = Console(file=io.StringIO(), width=40, force_terminal=True, color_system="256")
    assert plain_lines(colour, table("fits")) is None
