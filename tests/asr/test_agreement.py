from roomscribe.asr.agreement import LocalAgreement, word_key
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
