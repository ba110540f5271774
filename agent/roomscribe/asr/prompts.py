"""What a decode hears besides its own audio: the stream's final words before it.

Whisper reads a segment better with what was said before it, in two forms.
The prompt is the text of the stream's latest finals (:func:`prompt_text`).
A final decode may also hear the last seconds of final speech again as audio
(:meth:`Context.heard_before`): a segment that starts mid-sentence ("...or 8
for more options") is heard much better with the words before it; those
words are left out of its prompt and, matched by text, out of its result
(:func:`roomscribe.asr.agreement.after_heard`).

Plain synchronous code: the policy keeps one :class:`Context` per stream.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence

from roomscribe.asr.events import Word

PROMPT_CHARS = 600
"""Final text given as prompt: more than the backend's token budget
(``WhisperOptions.prompt_tokens``) takes, so a stream with that much history
gets a prompt of exactly that length, and CTranslate2, which batches only
prompts of one length, decodes the streams of a room in one call."""
LEFT_CONTEXT_S = 3.0
"""Final speech heard again before a segment in its final decode."""
MAX_CONTEXT_SEGMENT_S = 5.0
"""A longer segment carries its own context: it is decoded without left
context, which would only make its final later."""
_HISTORY_WORDS = 80
_ALIGN_SLACK_S = 0.05
"""Word times are approximate: a context word may end this far into the segment."""


def join(words: Iterable[Word]) -> str:
    """The text of ``words`` (each word carries its leading space)."""
    return "".join(w.text for w in words).strip()


def prompt_text(history: Sequence[Word], chars: int = PROMPT_CHARS) -> str:
    """The decoder prompt of a stream: the last ``chars`` characters of its final words."""
    return join(history)[-chars:].strip()


class Context:
    """The latest final words of one stream, as decoding context."""

    def __init__(self) -> None:
        self._words: deque[Word] = deque(maxlen=_HISTORY_WORDS)

    @property
    def last(self) -> Word | None:
        """The latest final word (it tells whether a sentence ended)."""
        return self._words[-1] if self._words else None

    def extend(self, words: Iterable[Word]) -> None:
        """Words just finalized."""
        self._words.extend(words)

    def heard_before(self, segment_start: float, earliest: float) -> tuple[Word, ...]:
        """The final words between ``earliest`` and a segment's start (a tail of history)."""
        n = 0
        for w in reversed(self._words):
            if w.start < earliest or w.end > segment_start + _ALIGN_SLACK_S:
                break
            n += 1
        return tuple(itertools.islice(self._words, len(self._words) - n, None))

    def prompt(self, heard: Sequence[Word] = ()) -> str:
        """The prompt of a decode that hears ``heard`` (a tail of history) as audio."""
        earlier = list(itertools.islice(self._words, len(self._words) - len(heard)))
        return prompt_text(earlier)
