"""Names people give (runs, students, classes, racers, CSV columns and classes): text others will be shown.

A name must not hold control characters (Unicode category Cc: a NUL cuts text short, a newline or an
escape breaks lines, logs and terminals), bidirectional overrides or isolates, which reorder what is
drawn after them, in the name and around it, nor other invisible format characters (category Cf: a zero
width space makes "A\u200bda" look like "Ada"), except the marks that are part of writing: joiners
(ZWJ, ZWNJ), direction marks (LRM, RLM, ALM) and the tag characters of flag emoji.
"""

from __future__ import annotations

import unicodedata

from pydantic_core import PydanticCustomError

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # overrides, isolates
# ZWNJ and ZWJ shape Persian, Indic scripts and emoji sequences; LRM, RLM and ALM set the direction of
# neutral characters next to them without reordering anything else.
WRITING_MARKS = frozenset("\u200c\u200d\u200e\u200f\u061c")


def writing_mark(char: str) -> bool:
    """An invisible format character that is part of how text is written (a joiner, a direction mark, a
    flag emoji's tag)."""
    return char in WRITING_MARKS or 0xE0020 <= ord(char) <= 0xE007F


def unshowable(text: str) -> str | None:
    """Why ``text`` cannot be shown as a name (which character, and where), or None."""
    for at, char in enumerate(text, 1):
        where = f"U+{ord(char):04X} at character {at}"
        if unicodedata.category(char) == "Cc":
            return f"must not contain control characters ({where})"
        if char in BIDI_CONTROLS:
            return f"must not contain bidirectional overrides or isolates, which reorder the text shown around them ({where})"
        if unicodedata.category(char) == "Cf" and not writing_mark(char):
            return f"must not contain invisible formatting characters ({where})"
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
