"""Errors meant for the person using CNN Lab.

Every error whose message a page shows derives from ``UserError``: bad input (an image
that is not one, a layer that cannot follow the one before it, a setting out of range),
a missing model, an unusable device, a job that would not fit in memory. The message
says what is wrong and what to do. Pages catch ``UserError`` and nothing broader, so a
bug still surfaces as a bug in the tests instead of as a friendly sentence.

It derives from ``ValueError`` because almost all of these are values a person chose.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix; the message says what and how."""
