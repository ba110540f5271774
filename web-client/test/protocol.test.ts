import assert from "node:assert/strict";
import { test } from "node:test";

import { parseDataChannelMessage } from "../src/protocol.js";

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
