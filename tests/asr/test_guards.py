from roomscribe.asr.backend import DecodeResult
from roomscribe.asr.events import Word
from roomscribe.asr.guards import GuardOptions, clean, collapse_repeats, drop_annotations


def ws(*texts: str, dur: float = 0.2) -> list[Word]:
    return [Word(i * 0.3, i * 0.3 + dur, " " + t, 0.9) for i, t in enumerate(texts)]


def result(words: list[Word], *, no_speech: float = 0.1, logprob: float = -0.2) -> DecodeResult:
    return DecodeResult(tuple(words), "en", 1.0, no_speech, logprob, 1.5)


def texts(words: list[Word]) -> list[str]:
    return [w.text.strip() for w in words]


def test_phrase_loop_keeps_one_copy() -> None:
    words = ws("press", "the", "key", "press", "the", "key", "press", "the", "key")
    assert texts(collapse_repeats(words, 2)) == ["press", "the", "key"]


def test_two_word_loop_is_cut() -> None:
    assert texts(collapse_repeats(ws("comedian", "mail.", "comedian", "mail."), 2)) == [
        "comedian",
        "mail.",
    ]


def test_single_word_may_repeat_twice_but_not_loop() -> None:
    assert texts(collapse_repeats(ws("no", "no", "stop"), 2)) == ["no", "no", "stop"]
    assert texts(collapse_repeats(ws("4", "4", "4", "4", "4"), 2)) == ["4", "4"]


def test_zero_duration_copy_is_a_loop() -> None:
    words = [Word(0, 0.6, " 4", 0.9), Word(0.6, 0.6, " 4", 0.9)]
    assert texts(collapse_repeats(words, 2)) == ["4"]


def test_annotations_are_dropped() -> None:
    words = ws("[Music]", "hello", "(applause)", "♪", "there")
    assert texts(drop_annotations(words)) == ["hello", "there"]
    split = ws("[", "Music", "]", "hi")
    assert texts(drop_annotations(split)) == ["hi"]


def test_silence_and_unsure_decodes_give_no_words() -> None:
    opts = GuardOptions()
    assert clean(result(ws("thank", "you."), no_speech=0.9, logprob=-1.2), opts) == []
    assert clean(result(ws("thank", "you."), logprob=-2.0), opts) == []
    assert clean(result(ws("♪", "[Music]")), opts) == []
    assert texts(clean(result(ws("hello")), opts)) == ["hello"]


def test_exact_loop_keeps_the_whole_phrase() -> None:
    words = ws("to", "exit", "the", "menu.", "to", "exit", "the", "menu.", "to", "exit", "the")
    assert texts(collapse_repeats(words, 2)) == ["to", "exit", "the", "menu."]


def test_phrase_echo_after_a_stray_word_is_cut() -> None:
    words = ws("welcome", "to", "comedian", "mail.", "1.", "welcome", "to", "comedian", "mail.")
    assert texts(collapse_repeats(words, 2)) == ["welcome", "to", "comedian", "mail."]


def test_lone_unsure_word_is_noise() -> None:
    opts = GuardOptions()
    lone = [Word(0.0, 0.2, " Thank", 0.06)]
    assert clean(result(lone), opts) == []
    sure = [Word(0.0, 0.2, " Thanks.", 0.8)]
    assert texts(clean(result(sure), opts)) == ["Thanks."]
    # a longer decode with one unsure word is speech
    mixed = [*ws("press", "the"), Word(0.6, 0.8, " key", 0.05)]
    assert texts(clean(result(mixed), opts)) == ["press", "the", "key"]
