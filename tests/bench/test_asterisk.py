"""The vocabulary session built from Debian's Asterisk prompts (needs the sound pack)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomscribe.bench import asterisk
from roomscribe.bench.reference import load_reference
from roomscribe.bench.terms import term_recall
from roomscribe.vocabulary import parse_terms

pytestmark = pytest.mark.skipif(
    not (asterisk.SOUNDS / "en").is_dir(), reason="asterisk-core-sounds-en-g722 not installed"
)


def test_vocabulary_session_says_every_term_and_is_reproducible(tmp_path: Path) -> None:
    a = asterisk.build_vocabulary_session(tmp_path / "a" / "vocabulary-en.wav")
    b = asterisk.build_vocabulary_session(tmp_path / "b" / "vocabulary-en.wav")
    assert a.read_bytes() == b.read_bytes()
    ref = load_reference(a)
    assert ref is not None
    assert ref.vocabulary == asterisk.VOCABULARY
    # the list beside it is what --vocabulary takes, valid as a room vocabulary
    assert parse_terms(a.with_suffix(".vocabulary.txt").read_text()) == asterisk.VOCABULARY
    counts = term_recall(ref.text, ref.text, asterisk.VOCABULARY).counts
    assert all(c.said >= 1 for c in counts), [c.term for c in counts if not c.said]
    speech = sum(u.end - u.start for u in ref.utterances)
    assert 120 <= speech <= 160
    assert ref.utterances[-1].end < 200


def test_vocabulary_session_leaves_out_excluded_prompts(tmp_path: Path) -> None:
    asterisk.build_vocabulary_session(tmp_path / "all" / "v.wav")
    asterisk.build_vocabulary_session(
        tmp_path / "some" / "v.wav", exclude=frozenset({"demo-instruct"})
    )
    assert "demo-instruct" in asterisk.used_prompts(tmp_path / "all")
    assert "demo-instruct" not in asterisk.used_prompts(tmp_path / "some")
