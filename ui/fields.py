"""Number fields that explain themselves. A Streamlit number field with bounds turns red
and keeps the old value when a person types a number outside them, so the page shows a
stale result and no reason. These fields take any number and say, the way the conv
calculator does, which value is allowed; the caller gets None and shows nothing stale."""

from __future__ import annotations

import streamlit as st


def bounded_number(
    label: str,
    minimum: float,
    maximum: float,
    value: float,
    *,
    key: str,
    step: float | None = None,
    where=st,
    help: str | None = None,
    number_format: str | None = None,
) -> float | None:
    """The number typed, or None after an error naming the field and its range. Whole
    numbers come back as int when ``value`` is an int."""
    whole = isinstance(value, int) and (step is None or float(step).is_integer())
    number = where.number_input(
        label,
        value=value,
        step=step if step is not None else (1 if whole else None),
        key=key,
        help=help,
        format=number_format,
    )
    if number is None or not minimum <= number <= maximum:
        shown = f"{minimum:g} and {maximum:g}" if not whole else f"{int(minimum):,} and {int(maximum):,}"
        where.error(f"{label} must be between {shown}, not {'nothing' if number is None else f'{number:g}'}.")
        return None
    return int(number) if whole else float(number)
