import assert from "node:assert/strict";
import { test } from "node:test";

import {
  parseDataChannelMessage,
  parseRevision,
  parseTimedStrings,
  waitingTracks,
} from "../src/protocol.js";

test("caption messages are read with defaults for optional fields", () => {
  const msg = parseDataChannelMessage(
    JSON.stringify({ type: "caption", segment_id: "s1", text: "hi", final: true, speaker: "Ada" }),
  );
  assert.deepEqual(msg, {
    type: "caption",
    segment_id: "s1",
    text: "hi",
    final: true,
    speaker: "Ada",
    track_id: "",
    start: 0,
    end: 0,
    language: null,
    revision: 0,
    words: [],
  });
});

test("error messages, unknown types and garbage", () => {
  assert.deepEqual(parseDataChannelMessage('{"type":"error","message":"too many sessions"}'), {
    type: "error",
    message: "too many sessions",
  });
  assert.equal(parseDataChannelMessage('{"type":"hello"}'), null);
  assert.equal(parseDataChannelMessage('{"type":"caption","text":"no id"}'), null);
  assert.equal(parseDataChannelMessage("not json"), null);
  assert.equal(parseDataChannelMessage("null"), null);
});

test("revision numbers are read from attributes and messages; bad ones mean live", () => {
  assert.equal(parseRevision("2"), 2);
  assert.equal(parseRevision(3), 3);
  for (const bad of [undefined, "", "x", "-1", 0, 1.5, null]) assert.equal(parseRevision(bad), 0);
  const msg = parseDataChannelMessage(
    '{"type":"caption","segment_id":"s1","text":"Press two.","final":true,"revision":1}',
  );
  assert.equal(msg?.type === "caption" ? msg.revision : -1, 1);
});

test("the tracks waiting for capacity are read from the captioner's attribute", () => {
  assert.deepEqual([...waitingTracks("TR_a TR_b")], ["TR_a", "TR_b"]);
  assert.deepEqual([...waitingTracks("")], []);
  assert.deepEqual([...waitingTracks(undefined)], []);
});

test("timed payloads (livekit-agents json_format lines) give the text and its times", () => {
  const payload =
    '{"text": "Press", "start_time": 1.0, "end_time": 1.4, "confidence": 0.9}\n' +
    '{"text": " two.", "start_time": 1.5, "end_time": 1.9, "confidence": 0.8}\n';
  assert.deepEqual(parseTimedStrings(payload), { text: "Press two.", start: 1, end: 1.9 });
  assert.deepEqual(parseTimedStrings('{"text": "hi"}\nnot json\n[1]\n'), {
    text: "hi",
    start: null,
    end: null,
  });
});
