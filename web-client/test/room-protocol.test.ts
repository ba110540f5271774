import assert from "node:assert/strict";
import { test } from "node:test";

import { METADATA_VOCABULARY, parseBacklog, roomVocabulary } from "../src/protocol.js";

const segment = {
  speaker: "ada-1f2e",
  speaker_name: "Ada",
  track_id: "TR_1",
  segment_id: "TR_1-s1-0",
  text: "Hello there.",
  start: 0.5,
  end: 1.4,
  language: "en",
  revision: 1,
};

test("a backlog keeps its well-formed segments, in order", () => {
  const raw = JSON.stringify([
    segment,
    { ...segment, segment_id: 7 },
    null,
    { ...segment, segment_id: "TR_1-s1-1", text: "How are you?", language: null, revision: "x" },
  ]);
  assert.deepEqual(parseBacklog(raw), [
    segment,
    { ...segment, segment_id: "TR_1-s1-1", text: "How are you?", language: null, revision: 0 },
  ]);
});

test("a malformed backlog is empty", () => {
  assert.deepEqual(parseBacklog("not json"), []);
  assert.deepEqual(parseBacklog('{"segment_id": "x"}'), []);
});

test("the room vocabulary is read from room metadata", () => {
  const metadata = JSON.stringify({ topic: "standup", [METADATA_VOCABULARY]: ["Asterisk", 3, "VoIP"] });
  assert.deepEqual(roomVocabulary(metadata), ["Asterisk", "VoIP"]);
  assert.deepEqual(roomVocabulary(""), []);
  assert.deepEqual(roomVocabulary(undefined), []);
  assert.deepEqual(roomVocabulary("plain text"), []);
  assert.deepEqual(roomVocabulary("null"), []);
  assert.deepEqual(roomVocabulary('{"topic": "standup"}'), []);
});
