"""A stream's decoding context: prompt text and the final words heard again as audio."""

from __future__ import annotations

from roomscribe.asr.events import Word
from roomscribe.asr.prompts import PROMPT_CHARS, Context, join, prompt_text


def said(*texts: str, start: float = 0.0) -> list[Word]:
    """Words 0.5 s apart from ``start``, each 0.4 s long."""
    return [Word(start + i * 0.5, start + i * 0.5 + 0.4, " " + t, 0.9) for i, t in enumerate(texts)]


def test_the_prompt_is_the_end_of_the_final_text() -> None:
    words = said(*(["word"] * 200))
    prompt = prompt_text(words)
    assert len(prompt) <= PROMPT_CHARS
    assert join(words).endswith(prompt)
    assert prompt_text(said("hello", "there."), 7) == "there."  # stripped


def test_words_heard_again_are_the_tail_before_the_segment() -> None:
    context = Context()
    context.extend(said("hello", "there.", "how", "are", "you"))  # 0.0 - 2.4 s
    heard = context.heard_before(segment_start=2.5, earliest=1.0)
    assert join(heard) == "how are you"  # "there." starts at 0.5 s, before the earliest
    assert context.prompt(heard) == "hello there."
    assert context.prompt() == "hello there. how are you"


def test_a_word_ending_inside_the_segment_is_not_heard_again() -> None:
    context = Context()
    context.extend(said("hello", "there."))  # "there." ends at 0.9 s
    assert context.heard_before(segment_start=0.8, earliest=0.0) == ()
    assert join(context.heard_before(segment_start=0.86, earliest=0.0)) == "hello there."


def test_last_is_the_latest_final_word() -> None:
    context = Context()
    assert context.last is None
    context.extend(said("hello", "there."))
    assert context.last is not None
    assert context.last.text == " there."
