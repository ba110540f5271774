"""Display names: what other participants see next to someone's captions.

A name is shown to everyone in the room, so it must not be able to hide or
rearrange text: no control characters, no bidirectional overrides or other
format characters, no zero-width or blank-looking letters, no private-use or
unassigned code points.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 64

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
"""Controls, format characters (zero-width spaces and joiners, bidi overrides, BOM),
private use, surrogates, unassigned, line and paragraph separators."""

_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")
"""Letters and marks that render as nothing (Hangul fillers, the braille blank,
the combining grapheme joiner) although their category looks harmless."""


class InvalidNameError(ValueError):
    """A display name that cannot be used; the message is meant for the user."""


def validate_display_name(value: str) -> str:
    """The name normalized (NFC) and trimmed; raises :class:`InvalidNameError` if unusable."""
    name = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidNameError(f"name must be 1-{MAX_NAME_LENGTH} characters")
    for char in name:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LOOKING:
            raise InvalidNameError(
                f"name must not contain control or invisible characters (U+{ord(char):04X})"
            )
    return name
