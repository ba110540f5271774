"""The language codes Whisper knows, and the one check every untrusted code goes through.

A code Whisper does not know makes the decode fail inside the engine thread,
and a decode batch holds the requests of every stream on the worker, so one
bad participant attribute or data-channel message would cost everyone their
captions. Every language that comes from outside (the participant attribute,
the embedded ``set_language`` message, the offer's ``language`` field) is
therefore checked by :func:`parse_language` before it reaches an engine:

* :func:`parse_language` raises :class:`UnknownLanguageError` (a ``ValueError``
  with a message for the user): for a direct API call, which can answer with
  an error (``POST /api/offer`` -> 400, the data channel -> an ``error``
  message, the language unchanged).
* :func:`validate_language` logs the problem and falls back to ``None``
  (automatic detection): for values nobody can be told about, such as a
  LiveKit participant attribute.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

# Whisper's languages (a multilingual model's ``WhisperBackend.supported_languages``;
# tests/test_languages.py keeps the two equal without loading a model at import).
_CODES = """
af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu
ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml
mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw
ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh
"""
WHISPER_LANGUAGES: frozenset[str] = frozenset(_CODES.split())
"""Every language code Whisper can be told to transcribe."""

AUTO = "auto"
"""The value that asks for automatic detection (as does an empty or missing value)."""

_CODE = re.compile(r"[a-z]{2,3}")
_MAX_SHOWN = 16
"""Longest value quoted back in a message (the value may be hostile)."""


class UnknownLanguageError(ValueError):
    """A language value that is neither ``auto`` nor a code in :data:`WHISPER_LANGUAGES`."""


def parse_language(value: object) -> str | None:
    """``"auto"``, ``""`` or ``None`` -> ``None``; a Whisper language code -> itself.

    Raises :class:`UnknownLanguageError` with a message fit to show a user otherwise.
    """
    if value is None or value == "" or value == AUTO:
        return None
    if isinstance(value, str) and value in WHISPER_LANGUAGES:
        return value
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise UnknownLanguageError(
            f"language must be 'auto' or a language code like 'en', not {_shown(value)}"
        )
    raise UnknownLanguageError(f"unknown language {_shown(value)}; Whisper knows: {known_codes()}")


def validate_language(value: object, *, source: str) -> str | None:
    """Like :func:`parse_language`, but an unusable value is logged and means ``None``.

    ``source`` names where the value came from, for the log line (e.g.
    ``"participant ada-3f2a1c"``). Never raises.
    """
    try:
        return parse_language(value)
    except UnknownLanguageError as exc:
        log.warning("%s: %s; detecting the language instead", source, exc)
        return None


def known_codes() -> str:
    """The known codes, sorted and comma-separated (for messages)."""
    return ", ".join(sorted(WHISPER_LANGUAGES))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
