"""Wire names: revisions of a final carry their number, live captions carry none."""

from __future__ import annotations

import json
import re
from pathlib import Path

from google.protobuf.json_format import Parse
from livekit.protocol.agent_pb import agent_session

from roomscribe import protocol
from roomscribe.asr.events import Caption, Word


def test_revision_number_in_attributes_and_data_channel_message() -> None:
    live = Caption("s1-0", "Press to.", True, (), 1.0, 2.0, "en")
    revised = Caption("s1-0", "Press two.", True, (), 1.0, 2.0, "en", revision=2)
    assert protocol.ATTR_REVISION not in protocol.caption_attributes(live, "TR")
    assert protocol.caption_attributes(revised, "TR")[protocol.ATTR_REVISION] == "2"
    assert protocol.caption_message(live, speaker="ada", track_id="TR")["revision"] == 0
    message = protocol.caption_message(revised, speaker="ada", track_id="TR")
    assert (message["revision"], message["final"], message["segment_id"]) == (2, True, "s1-0")


def test_the_web_client_spells_every_shared_wire_name_as_the_server() -> None:
    """``web-client/src/protocol.ts`` mirrors this module: a name both define must agree."""
    source = (Path(__file__).parents[1] / "web-client" / "src" / "protocol.ts").read_text()
    client = dict(re.findall(r'^export const ([A-Z_]+) = "([^"]*)";', source, re.MULTILINE))
    shared = {name: value for name, value in client.items() if hasattr(protocol, name)}
    assert {name: getattr(protocol, name) for name in shared} == shared
    # what the client reads from the agent, at least, is shared
    assert {"AGENT_IDENTITY", "ATTR_HEARTBEAT", "ATTR_REVISION", "BACKLOG_TOPIC"} <= shared.keys()


def test_timed_strings_are_livekit_agents_json_format_lines_with_word_times() -> None:
    words = (Word(1.0, 1.4, " Press", 0.9), Word(1.5, 1.9, " two.", 0.8))
    caption = Caption("s1-0", "Press two.", True, words, 1.0, 1.9, "en")
    lines = [json.loads(line) for line in protocol.timed_strings(caption).splitlines()]
    assert lines == [
        {"text": "Press", "start_time": 1.0, "end_time": 1.4, "confidence": 0.9},
        {"text": " two.", "start_time": 1.5, "end_time": 1.9, "confidence": 0.8},
    ]
    assert protocol.timed_strings(caption).endswith("\n")  # one object per line, as agents writes
    # the proto's own JSON mapping reads each line: field names and types are LiveKit's
    for line in protocol.timed_strings(caption).splitlines():
        Parse(line, agent_session.TimedString())
    attrs = protocol.caption_attributes(caption, "TR", timed=True)
    assert attrs[protocol.ATTR_FORMAT] == protocol.FORMAT_JSON
    assert (attrs[protocol.ATTR_START], attrs[protocol.ATTR_END]) == ("1.000", "1.900")
    assert protocol.ATTR_FORMAT not in protocol.caption_attributes(caption, "TR")


def test_timed_strings_fall_back_to_one_line_when_the_words_do_not_spell_the_text() -> None:
    caption = Caption("s1-0", "Call-Forward on Busy.", False, (), 10.25, 12.5, "en")
    (line,) = protocol.timed_strings(caption).splitlines()
    assert json.loads(line) == {"text": caption.text, "start_time": 10.25, "end_time": 12.5}


def test_a_room_asks_for_timed_strings_in_its_metadata() -> None:
    key = protocol.METADATA_TRANSCRIPTION_FORMAT
    assert protocol.wants_timed_strings(json.dumps({key: "json", "roomscribe.vocabulary": []}))
    for metadata in ("", "json", "[]", json.dumps({key: "text"}), json.dumps({"other": 1})):
        assert not protocol.wants_timed_strings(metadata)


def test_a_translation_has_its_own_segment_id_and_names_its_original() -> None:
    original = Caption("TR-s1.ab-0", "Bonjour.", True, (), 0.5, 1.0, "fr")
    english = Caption("TR-s1.ab-0", "Hello.", True, (), 0.5, 1.0, "en", translation=True)
    attrs = protocol.caption_attributes(english, "TR")
    assert protocol.ATTR_TRANSLATION_OF not in protocol.caption_attributes(original, "TR")
    assert attrs[protocol.ATTR_TRANSLATION_OF] == "TR-s1.ab-0"
    assert attrs[protocol.ATTR_SEGMENT_ID] == "TR-s1.ab-0~en"
    assert attrs[protocol.ATTR_LANGUAGE] == "en"
    assert attrs[protocol.ATTR_FINAL] == "true"
