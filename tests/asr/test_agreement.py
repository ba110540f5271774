from roomscribe.asr.agreement import LocalAgreement, after_heard, word_key
from roomscribe.asr.events import Word


def ws(*items: tuple[str, float]) -> list[Word]:
    return [Word(t, t + 0.2, " " + w, 0.9) for w, t in items]


def test_commits_longest_common_prefix() -> None:
    la = LocalAgreement()
    assert la.insert(ws(("hello", 0.0), ("there", 0.3))) == []
    committed = la.insert(ws(("hello", 0.0), ("there", 0.3), ("friend", 0.6)))
    assert [w.text for w in committed] == [" hello", " there"]
    assert [w.text for w in la.tentative] == [" friend"]
    assert la.committed_end == 0.5


def test_disagreement_commits_nothing() -> None:
    la = LocalAgreement()
    la.insert(ws(("hallo", 0.0)))
    assert la.insert(ws(("hello", 0.0))) == []


def test_comparison_ignores_case_and_punctuation_but_keeps_newest_spelling() -> None:
    la = LocalAgreement()
    la.insert(ws(("Hello", 0.0), ("key", 0.3)))
    committed = la.insert(ws(("hello,", 0.0), ("key.", 0.3)))
    assert [w.text for w in committed] == [" hello,", " key."]
    assert word_key(" Don't!") == "don't"


def test_committed_words_are_not_committed_twice() -> None:
    la = LocalAgreement()
    la.insert(ws(("a", 0.0), ("b", 0.3)))
    la.insert(ws(("a", 0.0), ("b", 0.3)))
    # a re-decode that repeats the committed tail with slightly earlier times
    assert la.insert(ws(("b", 0.45), ("c", 0.7))) == []
    assert [w.text for w in la.insert(ws(("b", 0.45), ("c", 0.7)))] == [" c"]


def test_reset_forgets_tentative_words() -> None:
    la = LocalAgreement()
    la.insert(ws(("a", 0.0)))
    la.reset(5.0)
    assert la.tentative == []
    assert la.insert(ws(("a", 1.0))) == []
    assert la.tentative == []


def test_heard_words_are_matched_by_text_not_times() -> None:
    heard = ws(("to", 0.0), ("another", 0.2), ("user.", 0.5))
    # the aligner stretched "Or" back into the pause, before the boundary at 1.0
    decode = ws(("to", 0.0), ("another", 0.2), ("user", 0.5), ("Or", 0.75), ("pound", 1.1))
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" Or", " pound"]


def test_heard_words_missing_from_the_decode_fall_back_to_times() -> None:
    heard = ws(("to", 0.0), ("another", 0.2), ("user.", 0.5))
    decode = ws(("two", 0.0), ("a", 0.2), ("nother", 0.5), ("usher", 0.7), ("or", 1.1))
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" or"]


def test_a_later_repeat_of_the_last_heard_word_is_not_a_match() -> None:
    heard = ws(("press", 0.0), ("one.", 0.3))
    # the decode skipped the context; "one" later is new speech
    decode = ws(("dial", 1.0), ("two", 1.3), ("or", 1.6), ("three", 1.9), ("one", 2.2))
    assert len(after_heard(heard, decode, 0.8)) == 5


def test_last_heard_word_spelled_differently_is_skipped() -> None:
    heard = ws(("este", 0.0), ("correo", 0.2), ("de", 0.4), ("voz.", 0.6))
    decode = ws(("este", 0.0), ("correo", 0.2), ("de", 0.4), ("vos.", 0.6), ("por", 0.9))
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" por"]
    # the misheard word is kept if it lies after the boundary: it is new speech
    decode = ws(("este", 0.0), ("correo", 0.2), ("de", 0.4), ("por", 1.0), ("favor", 1.3))
    assert [w.text for w in after_heard(heard, decode, 0.9)] == [" por", " favor"]


def test_last_heard_word_split_in_two_is_skipped_whole() -> None:
    """Heard "prepending", decoded "pre" "-pending." this time: neither half is
    new speech (the second half once opened the next segment's revision)."""
    heard = ws(("the", 0.0), ("message", 0.2), ("without", 0.5), ("prepending.", 0.8))
    decode = ws(
        ("the", 0.0),
        ("message", 0.2),
        ("without", 0.5),
        ("pre", 0.8),
        ("-pending.", 1.0),
        ("This", 1.6),
        ("message", 1.9),
    )
    assert [w.text for w in after_heard(heard, decode, 1.2)] == [" This", " message"]


def test_the_rest_of_the_last_heard_word_is_not_new_speech() -> None:
    """Heard "dies." (for "dièse"), decoded "dies" "'yèse." this time: the piece
    glued to it by an apostrophe once opened the next sentence's revision."""
    heard = ws(("suivi", 0.0), ("du", 0.3), ("dies.", 0.5))
    glued = Word(0.9, 1.3, "'yèse.", 0.54)
    decode = [*ws(("suivi", 0.0), ("du", 0.3), ("dies", 0.5)), glued, *ws(("Votre", 1.6))]
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" Votre"]
    # an elided word of new speech keeps its apostrophe piece
    decode = [*ws(("suivi", 0.0), ("du", 0.3), ("dies.", 0.5), ("l", 1.6)), glued]
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" l", "'yèse."]
    # the heard word spelled otherwise: the piece goes with it
    decode = [*ws(("suivi", 0.0), ("du", 0.3), ("dièse", 0.5)), glued, *ws(("Votre", 1.6))]
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" Votre"]
    # nothing heard found, so times decide: the piece of a word begun before
    # the boundary goes with it
    decode = [*ws(("suivit", 0.0), ("dus", 0.3), ("dièse", 0.5)), glued, *ws(("Votre", 1.6))]
    assert [w.text for w in after_heard(heard, decode, 1.0)] == [" Votre"]
