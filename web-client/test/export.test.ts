import assert from "node:assert/strict";
import { test } from "node:test";

import {
  formatClock,
  formatTimestamp,
  toJson,
  toSrt,
  toTxt,
  toVtt,
  type TranscriptEntry,
} from "../src/export.js";

const entry = (over: Partial<TranscriptEntry>): TranscriptEntry => ({
  speaker: "Ada",
  segment_id: "s1",
  start: 0,
  end: 1,
  text: "hello",
  language: "en",
  ...over,
});

// Deliberately out of order: exports sort by start time.
const entries = [
  entry({ speaker: "Bob", segment_id: "b1", start: 65.5, end: 67.25, text: "Second <line> & more " }),
  entry({ segment_id: "a1", start: 1.234, end: 3.5, text: "First line." }),
  entry({ segment_id: "a2", start: 70, end: 71, text: "   " }),
];

test("timestamps round to milliseconds and carry into seconds, minutes, hours", () => {
  assert.equal(formatTimestamp(1.234, ","), "00:00:01,234");
  assert.equal(formatTimestamp(1.234, "."), "00:00:01.234");
  assert.equal(formatTimestamp(59.9996, ","), "00:01:00,000");
  assert.equal(formatTimestamp(3723.045, "."), "01:02:03.045");
  assert.equal(formatTimestamp(-2, ","), "00:00:00,000");
});

test("clock is mm:ss, h:mm:ss past an hour", () => {
  assert.equal(formatClock(0), "00:00");
  assert.equal(formatClock(65.9), "01:05");
  assert.equal(formatClock(3725), "1:02:05");
});

test("txt: one line per final, in start order, blank texts dropped", () => {
  assert.equal(
    toTxt(entries),
    "[00:01] Ada: First line.\n[01:05] Bob: Second <line> & more\n",
  );
});

test("srt: numbered cues with comma milliseconds", () => {
  assert.equal(
    toSrt(entries),
    "1\n00:00:01,234 --> 00:00:03,500\nAda: First line.\n\n" +
      "2\n00:01:05,500 --> 00:01:07,250\nBob: Second <line> & more\n",
  );
});

test("vtt: header, dot milliseconds, escaped voice spans", () => {
  assert.equal(
    toVtt(entries),
    "WEBVTT\n\n00:00:01.234 --> 00:00:03.500\n<v Ada>First line.\n\n" +
      "00:01:05.500 --> 00:01:07.250\n<v Bob>Second &lt;line&gt; &amp; more\n",
  );
});

test("json: ordered list of the documented fields", () => {
  assert.deepEqual(JSON.parse(toJson(entries)), [
    { speaker: "Ada", segment_id: "a1", start: 1.234, end: 3.5, text: "First line.", language: "en" },
    {
      speaker: "Bob",
      segment_id: "b1",
      start: 65.5,
      end: 67.25,
      text: "Second <line> & more",
      language: "en",
    },
  ]);
});

test("a cue never ends before it starts", () => {
  const cue = toSrt([entry({ start: 5, end: 4 })]);
  assert.match(cue, /00:00:05,000 --> 00:00:05,000/);
});

test("empty transcripts are valid files", () => {
  assert.equal(toTxt([]), "");
  assert.equal(toSrt([]), "");
  assert.equal(toVtt([]), "WEBVTT\n");
  assert.deepEqual(JSON.parse(toJson([])), []);
});
