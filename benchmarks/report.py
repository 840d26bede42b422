"""Printing benchmark tables: one shape for every benchmark."""

from __future__ import annotations


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    for row in (header, tuple("-" * width for width in widths), *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
