"""Wire names: revisions of a final carry their number, live captions carry none."""

from __future__ import annotations

import re
from pathlib import Path

from roomscribe import protocol
from roomscribe.asr.events import Caption


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


def test_a_translation_has_its_own_segment_id_and_names_its_original() -> None:
    original = Caption("TR-s1.ab-0", "Bonjour.", True, (), 0.5, 1.0, "fr")
    english = Caption("TR-s1.ab-0", "Hello.", True, (), 0.5, 1.0, "en", translation=True)
    attrs = protocol.caption_attributes(english, "TR")
    assert protocol.ATTR_TRANSLATION_OF not in protocol.caption_attributes(original, "TR")
    assert attrs[protocol.ATTR_TRANSLATION_OF] == "TR-s1.ab-0"
    assert attrs[protocol.ATTR_SEGMENT_ID] == "TR-s1.ab-0~en"
    assert attrs[protocol.ATTR_LANGUAGE] == "en"
    assert attrs[protocol.ATTR_FINAL] == "true"
