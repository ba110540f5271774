"""Room vocabulary: a short list of terms (names, product words, acronyms) the recognizer favours.

The list lives in the room's metadata, a JSON object shared with other keys,
under :data:`~roomscribe.protocol.METADATA_VOCABULARY`. Anyone in the room may
set it through the server (``POST /api/vocabulary``), so it is untrusted input
twice: the server validates it before writing, and the agent validates it
again when it reads the metadata (someone with API keys may have written it by
hand). Both use :func:`validate_terms`.

The limits keep the terms cheap to feed to the model (as hotwords or a prompt,
which has a budget of a few hundred tokens) and keep them plain words: no
control characters, no markup, nothing that could steer the prompt.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable

from roomscribe import protocol

MAX_TERMS = 30
MAX_TERM_LENGTH = 40
MAX_TOTAL_LENGTH = 600
"""Characters of all terms together."""

_TERM = re.compile(r"^[\w '.&-]+$")
"""Letters (any script), digits, spaces and ``- ' . &``; ``_`` is excluded below."""


class VocabularyError(ValueError):
    """The terms break one of the limits; the message says which, for people."""


def validate_terms(terms: Iterable[object]) -> tuple[str, ...]:
    """Normalized terms (inner whitespace collapsed, duplicates dropped, order kept).

    Raises :class:`VocabularyError` when a term is not a string, is empty or too
    long, has other characters than letters, digits, spaces and ``- ' . &``, or
    when there are too many terms or too many characters in all.
    """
    out: list[str] = []
    seen: set[str] = set()
    for raw in terms:
        if not isinstance(raw, str):
            raise VocabularyError("every term must be a string")
        # NFC first: a decomposed accent (e + U+0301) is not a letter to \w
        raw = unicodedata.normalize("NFC", raw)
        if not raw.strip(" "):
            raise VocabularyError("a term is empty")
        if not _TERM.fullmatch(raw) or "_" in raw:
            # checked before collapsing whitespace: a newline or tab is refused, not folded
            raise VocabularyError(
                f"{raw[:MAX_TERM_LENGTH]!r} may only contain letters, digits, spaces and - ' . &"
            )
        term = " ".join(raw.split())
        if len(term) > MAX_TERM_LENGTH:
            raise VocabularyError(
                f"{term[:MAX_TERM_LENGTH]!r}... is longer than {MAX_TERM_LENGTH} characters"
            )
        if term.casefold() in seen:
            continue
        seen.add(term.casefold())
        out.append(term)
    if len(out) > MAX_TERMS:
        raise VocabularyError(f"at most {MAX_TERMS} terms (got {len(out)})")
    total = sum(len(t) for t in out)
    if total > MAX_TOTAL_LENGTH:
        raise VocabularyError(f"at most {MAX_TOTAL_LENGTH} characters in all (got {total})")
    return tuple(out)


def parse_terms(text: str) -> tuple[str, ...]:
    """Comma-separated terms as people type them (``"Asterisk, VoIP, O'Brien"``), validated."""
    return validate_terms(t for t in text.split(",") if t.strip())


def from_metadata(metadata: str) -> tuple[str, ...]:
    """The validated vocabulary in a room's metadata; ``()`` when absent.

    Metadata that is not a JSON object has no vocabulary. Raises
    :class:`VocabularyError` when the key is present but invalid, so the caller
    can log it and keep its current terms.
    """
    try:
        value = _metadata_object(metadata).get(protocol.METADATA_VOCABULARY)
    except VocabularyError:
        return ()
    if value is None:
        return ()
    if not isinstance(value, list):
        raise VocabularyError("the room's vocabulary is not a list")
    return validate_terms(value)


def with_terms(metadata: str, terms: tuple[str, ...]) -> str:
    """``metadata`` with its vocabulary replaced by ``terms``, other keys kept.

    Metadata that is not a JSON object (a plain string someone else set) is
    kept under ``"text"`` rather than lost.
    """
    try:
        obj = _metadata_object(metadata)
    except VocabularyError:
        obj = {"text": metadata}
    obj[protocol.METADATA_VOCABULARY] = list(terms)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _metadata_object(metadata: str) -> dict[str, object]:
    if not metadata.strip():
        return {}
    try:
        obj = json.loads(metadata)
    except ValueError as e:
        raise VocabularyError("the room's metadata is not JSON") from e
    if not isinstance(obj, dict):
        raise VocabularyError("the room's metadata is not a JSON object")
    return obj
