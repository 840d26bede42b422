"""Errors meant for people: every one derives from ``core.runtime.errors.UserError``, and a
page shows it in place with ``st.error`` and stays usable. Nothing else is caught here: a
bug in a page is Streamlit's to report, and a bug in a job goes to the server's log
(``core.runtime.jobs``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec

import streamlit as st

from core.runtime.errors import UserError

P = ParamSpec("P")


@dataclass
class Outcome:
    """Whether the block under ``shown_user_errors`` stopped at a ``UserError``."""

    failed: bool = False


@contextmanager
def shown_user_errors(where=st) -> Iterator[Outcome]:
    """Run the block; a ``UserError`` in it ends the block and is shown with ``where.error``.

    ``with shown_user_errors() as outcome: …`` then ``if outcome.failed: return``."""
    outcome = Outcome()
    try:
        yield outcome
    except UserError as error:
        outcome.failed = True
        where.error(str(error))


def user_errors_shown(section: Callable[P, None]) -> Callable[P, None]:
    """A section that ends at a ``UserError`` in it (a model server starting, a bad input)
    and shows it, leaving the rest of the page as it is."""

    @wraps(section)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with shown_user_errors():
            section(*args, **kwargs)

    return run
