"""Names people give (runs, students, classes, racers, CSV columns and classes): text others will be shown.

A name must not hold control characters (Unicode category Cc: a NUL cuts text short, a newline or an
escape breaks lines, logs and terminals) nor bidirectional overrides or isolates, which reorder what is
drawn after them, in the name and around it.
"""

from __future__ import annotations

import unicodedata

from pydantic_core import PydanticCustomError

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # overrides, isolates


def unshowable(text: str) -> str | None:
    """Why ``text`` cannot be shown as a name (which character, and where), or None."""
    for at, char in enumerate(text, 1):
        where = f"U+{ord(char):04X} at character {at}"
        if unicodedata.category(char) == "Cc":
            return f"must not contain control characters ({where})"
        if char in BIDI_CONTROLS:
            return f"must not contain bidirectional overrides or isolates, which reorder the text shown around them ({where})"
    return None


def display_text(text: str) -> str:
    """A pydantic validator for a name, after the spaces around it were stripped: not empty, and
    showable (:func:`unshowable`); a 422 says why."""
    if not text:
        raise PydanticCustomError("blank_name", "must not be empty or only spaces")
    reason = unshowable(text)
    if reason is not None:
        raise PydanticCustomError("name_character", reason)
    return text
