"""A rich table printed without colour, the text rich would print, without rich's layout work.

Why: ``digest --print`` at 1M messages lists ~400 drafts; rich measured, wrapped and padded
each of the ~2,400 cells as segments: ~130 ms, a third of the whole command (docs/benchmarks.md,
session 7). When the output has no colour (a pipe, a file: ``color_system`` is None) and the
table is a plain one whose every cell is one-column-per-character text that fits the width
unwrapped, rich's layout reduces to: each column as wide as its widest cell plus the padding,
each line of a cell left-justified, the box's characters around them. That is what
:func:`print_table` writes; anything else (a terminal's colours, a wide or control character,
a table or a title that would wrap, an option of the table that changes its layout) is left
to ``console.print(table)``. tests/unit/test_cli_plain_table.py compares both on random tables.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["plain_lines", "print_table"]


def _cell_lines(console: Console, cell: object) -> list[str] | None:
    """The lines of a cell's text as rich would lay them out unwrapped; None when it could
    lay them out otherwise (not plain text, a wide or non-printing character)."""
    if isinstance(cell, str):
        # (what rich does with a str cell: markup and emoji codes, its own highlighting aside)
        cell = console.render_str(cell, highlight=False)
    if type(cell) is not Text or cell.justify not in (None, "left", "default"):
        return None
    lines = cell.plain.split("\n")
    for line in lines:
        if not line.isprintable() or cell_len(line) != len(line):
            return None
    return lines


def plain_lines(console: Console, table: Table) -> list[str] | None:
    """The lines ``console.print(table)`` writes, when it is a plain table on a console
    without colour that it fits unwrapped; else None."""
    if console.color_system is not None or console.record or console.is_jupyter:
        return None
    box = table.box
    if (
        box is None
        or not table.columns
        or not table.show_header
        or table.show_footer
        or not table.show_edge
        or table.show_lines
        or table.leading
        or table.expand
        or table.width is not None
        or table.min_width is not None
        or table.caption
        or table.padding != (0, 1, 0, 1)
        or not table.pad_edge
        or table.collapse_padding
        or table.title_justify != "left"
        or any(row.end_section for row in table.rows)
    ):
        return None
    columns = table.columns
    for column in columns:
        if (
            column.justify != "left"
            or column.vertical != "top"
            or column.width is not None
            or column.min_width is not None
            or column.max_width is not None
            or column.ratio is not None
        ):
            return None
    rows = len(table.rows)
    cells: list[list[list[str]]] = []  # per column: the header's lines, then each row's
    widths: list[int] = []
    for column in columns:
        column_cells: list[list[str]] = []
        header = _cell_lines(console, column.header)
        if header is None:
            return None
        column_cells.append(header)
        body = list(column.cells)
        if len(body) != rows:
            return None
        for cell in body:
            found = _cell_lines(console, cell)
            if found is None:
                return None
            column_cells.append(found)
        widest = max(len(line) for lines in column_cells for line in lines)
        if not widest:  # (rich lays out an empty column in ways of its own)
            return None
        widths.append(widest + 2)
        cells.append(column_cells)
    if sum(widths) > console.width - (len(columns) + 1):  # rich would narrow the columns
        return None
    table_width = sum(widths) + len(columns) + 1
    out: list[str] = []
    if table.title:
        title = _cell_lines(console, table.title)
        if title is None or len(title) != 1 or len(title[0]) > table_width:
            return None
        out.append(title[0].ljust(table_width))
    box = box.substitute(console.options, safe=console.safe_box)
    out.append(box.get_top(widths))
    for index in range(rows + 1):
        if index == 0:
            left, divider, right = box.head_left, box.head_vertical, box.head_right
        elif index == rows:
            left, divider, right = box.foot_left, box.foot_vertical, box.foot_right
        else:
            left, divider, right = box.mid_left, box.mid_vertical, box.mid_right
        row = [column_cells[index] for column_cells in cells]
        height = max(len(lines) for lines in row)
        for line_no in range(height):
            parts = []
            for lines, width in zip(row, widths, strict=True):
                # the header sits at the bottom of its row, a body cell at the top
                at = line_no - (height - len(lines)) if index == 0 else line_no
                text = lines[at] if 0 <= at < len(lines) else ""
                parts.append(" " + text.ljust(width - 2) + " ")
            out.append(left + divider.join(parts) + right)
        if index == 0:
            out.append(box.get_row(widths, "head", edge=True))
    out.append(box.get_bottom(widths))
    return out


def print_table(console: Console, table: Table) -> None:
    """``console.print(table)``, the same text written faster where :func:`plain_lines` can."""
    lines = plain_lines(console, table)
    if lines is None:
        console.print(table)
        return
    console.file.write("\n".join(lines) + "\n")
    console.file.flush()
