"""Which language one stream speaks: given, or detected by decodes and then kept.

Whisper detects the language of every decode it is not told the language of,
but detection on a second of audio is unreliable (a Spanish prompt may come
out as Tagalog, a telephone "Hello?" as Korean). So nothing is detected on
less than ``min_audio_s`` of speech, and detection happens in two steps:

- while a segment is open, its interim decodes (of at least ``min_audio_s``)
  are tallied; the language most of them detected is the segment's guess,
  used for its final decode (:meth:`LanguageVote.segment_guess`);
- complete utterances of at least ``min_audio_s`` (final decodes) vote; a
  language is kept for the rest of the stream after two confident votes or one
  very confident long one (:meth:`LanguageVote.vote`).

Shorter speech, while the language is unknown, is decoded in the language the
stream's votes lean to, else in :data:`FALLBACK_LANGUAGE`
(:meth:`LanguageVote.for_decode`): a first short word of an English call is
English, and it does not vote.

Plain synchronous code: the policy calls it, it calls nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

_VOTES_TO_LOCK = 2
_SURE_PROBABILITY = 0.9
"""One final decode this sure of its language, and long enough, locks it alone."""
_SURE_AUDIO_S = 2.0
FALLBACK_LANGUAGE = "en"
"""Decoding language of short speech before any language is known: Whisper's
most common, the one a short unknown word ("Hello?", "OK.") most likely is."""


@dataclass(frozen=True, slots=True)
class LanguageVoteOptions:
    """Tuning of language detection."""

    lock_probability: float = 0.6
    """A final decode's language counts as a vote only when detected at least this surely."""
    min_audio_s: float = 2.0
    """Less speech than this is never used to detect the language (a 0.3 s
    "Hello?" came out as Korean): it is decoded in the leaning (or fallback)
    language and does not vote."""


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """The language most interim decodes of a segment detected."""

    language: str
    probability: float
    """Mean detection probability of the decodes that detected it."""


class LanguageVote:
    """The language of one stream: fixed, or voted on by its decodes and locked."""

    def __init__(self, options: LanguageVoteOptions, language: str | None = None) -> None:
        self._opts = options
        self._fixed = language
        self._locked: str | None = None
        self._votes: dict[str, int] = {}
        self._heard: dict[str, list[float]] = {}
        """Languages the open segment's interim decodes detected -> their probabilities."""

    @property
    def language(self) -> str | None:
        """The given language, else the detected one once locked; ``None`` while unknown."""
        return self._fixed or self._locked

    def for_decode(
        self, audio_s: float, guess: LanguageGuess | None = None
    ) -> tuple[str | None, float | None]:
        """The language to decode ``audio_s`` seconds of speech in (``None``:
        detect it) and, for a segment's interim guess, that guess's probability."""
        if self.language is not None:
            return self.language, None
        if guess is not None:
            return guess.language, guess.probability
        if audio_s < self._opts.min_audio_s:
            leaning = max(self._votes.items(), key=lambda kv: kv[1], default=None)
            return (leaning[0] if leaning else FALLBACK_LANGUAGE), None
        return None, None

    def set_language(self, language: str | None) -> None:
        """Fix the language (``None``: forget what was detected and detect again)."""
        self._fixed = language
        if language is None:
            self._locked = None
            self._votes.clear()

    # -- the open segment ------------------------------------------------------

    def start_segment(self) -> None:
        """A new segment opened: forget what the previous one's interims detected."""
        self._heard = {}

    def note_interim(self, language: str, probability: float, audio_s: float) -> None:
        """An interim decode of ``audio_s`` seconds of the open segment detected ``language``."""
        if audio_s >= self._opts.min_audio_s:
            self._heard.setdefault(language, []).append(probability)

    def segment_guess(self) -> LanguageGuess | None:
        """The language a strict majority of the open segment's interims detected, if any."""
        if not self._heard:
            return None
        language, probs = max(self._heard.items(), key=lambda kv: len(kv[1]))
        votes = sum(len(p) for p in self._heard.values())
        if len(probs) * 2 <= votes:
            return None
        return LanguageGuess(language, sum(probs) / len(probs))

    # -- complete utterances ---------------------------------------------------

    def vote(self, language: str, probability: float, audio_s: float) -> None:
        """A final decode of a ``audio_s`` second segment detected ``language``.

        Only confident detections of at least ``min_audio_s`` count (shorter
        speech was decoded in a language it was told, not detected); the
        language is locked after
        :data:`_VOTES_TO_LOCK` of them or one very sure decode of a long
        segment. Nothing changes once the language is known.
        """
        if self._fixed is not None or self._locked is not None:
            return
        if probability < self._opts.lock_probability or audio_s < self._opts.min_audio_s:
            return
        votes = self._votes.get(language, 0) + 1
        self._votes[language] = votes
        if votes >= _VOTES_TO_LOCK or (
            probability >= _SURE_PROBABILITY and audio_s >= _SURE_AUDIO_S
        ):
            self._locked = language
