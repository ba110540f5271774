"""Wire names: revisions of a final carry their number, live captions carry none."""

from __future__ import annotations

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
