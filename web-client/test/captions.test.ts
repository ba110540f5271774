import assert from "node:assert/strict";
import { test } from "node:test";

import { CaptionStore, type CaptionUpdate } from "../src/captions.js";

const update = (over: Partial<CaptionUpdate>): CaptionUpdate => ({
  segmentId: "s1",
  trackId: "TR_a",
  speaker: "Ada",
  text: "hello",
  final: false,
  start: 0.5,
  end: 1,
  language: "en",
  ...over,
});

test("updates replace a segment's text; finals are frozen", () => {
  let now = 2;
  const store = new CaptionStore(() => now);
  const seen: string[] = [];
  store.subscribe((c) => seen.push(`${c.final ? "F" : "I"}:${c.text}`));
  store.apply(update({ text: "hel" }));
  store.apply(update({ text: "hello wor" }));
  now = 3;
  store.apply(update({ text: "Hello world.", final: true, end: 2 }));
  assert.equal(store.apply(update({ text: "late interim" })), null);
  assert.deepEqual(seen, ["I:hel", "I:hello wor", "F:Hello world."]);
  assert.deepEqual(
    store.transcript().map((e) => e.text),
    ["Hello world."],
  );
});

test("track times map onto the session clock, per track", () => {
  let now = 10;
  const store = new CaptionStore(() => now);
  // Track A's first caption (ends at 1 s of its stream) arrives at session 10 s.
  store.apply(update({ final: true, start: 0.5, end: 1, text: "a one" }));
  now = 20;
  // Track B started later; its own clock also starts at zero.
  store.apply(update({ trackId: "TR_b", speaker: "Bob", final: true, start: 0, end: 2, text: "b one" }));
  store.apply(update({ segmentId: "s2", final: true, start: 12, end: 13, text: "a two" }));
  const rows = store.transcript().map((e) => [e.speaker, e.text, e.start]);
  assert.deepEqual(rows, [
    ["Ada", "a one", 9.5],
    ["Bob", "b one", 18],
    ["Ada", "a two", 21],
  ]);
});

test("a track captioned by a new stream gets a new clock, and old times keep theirs", () => {
  let now = 10;
  const store = new CaptionStore(() => now);
  const first = "TR_a-s3.aaaaaa";
  store.apply(update({ segmentId: `${first}-0`, final: true, start: 4, end: 5, text: "one" }));
  // The worker died; another one captions the track, its stream clock from zero.
  now = 30;
  const second = "TR_a-s1.bbbbbb";
  store.apply(update({ segmentId: `${second}-0`, final: true, start: 1, end: 2, text: "two" }));
  // A late revision of the first stream's segment stays where it was said.
  store.apply(update({ segmentId: `${first}-0`, final: true, start: 4, end: 5, text: "One.", revision: 1 }));
  const rows = store.transcript().map((e) => [e.text, e.start, e.end]);
  assert.deepEqual(rows, [
    ["One.", 9, 10],
    ["two", 29, 30],
  ]);
});

test("same segment id on two tracks is two captions", () => {
  const store = new CaptionStore(() => 5);
  store.apply(update({ final: true, text: "from a" }));
  store.apply(update({ trackId: "TR_b", final: true, text: "from b" }));
  assert.equal(store.transcript().length, 2);
});

test("without server times a segment spans first to last update", () => {
  let now = 4;
  const store = new CaptionStore(() => now);
  store.apply(update({ start: null, end: null }));
  now = 6;
  store.apply(update({ start: null, end: null, final: true }));
  const [only] = store.transcript();
  assert.equal(only?.start, 4);
  assert.equal(only?.end, 6);
});

test("a revision replaces a final in place; stale or repeated ones are ignored", () => {
  const now = 5;
  const store = new CaptionStore(() => now);
  const seen: string[] = [];
  store.subscribe((c) => seen.push(`${c.revision}:${c.text}`));
  store.apply(update({ segmentId: "s1", text: "Press to.", final: true, start: 1, end: 2 }));
  store.apply(update({ segmentId: "s2", text: "Goodbye.", final: true, start: 3, end: 4 }));
  const revised = store.apply(
    update({ segmentId: "s1", text: "Press two.", final: true, start: 1, end: 2, revision: 1 }),
  );
  assert.equal(store.apply(update({ segmentId: "s1", text: "late interim" })), null);
  assert.equal(revised?.revision, 1);
  assert.equal(store.apply(update({ segmentId: "s1", text: "Old.", final: true, revision: 1 })), null);
  assert.equal(store.apply(update({ segmentId: "s1", text: "Live again.", final: true })), null);
  assert.deepEqual(seen, ["0:Press to.", "0:Goodbye.", "1:Press two."]);
  assert.deepEqual(
    store.transcript().map((e) => [e.segment_id, e.text]),
    [
      ["s1", "Press two."],
      ["s2", "Goodbye."],
    ],
  );
});

test("a translation is kept beside its original, right after it in downloads", () => {
  let now = 5;
  const store = new CaptionStore(() => now);
  const fr = { language: "fr", final: true };
  store.apply(update({ ...fr, segmentId: "TR_a-s1.ab-0", text: "Bonjour.", start: 0.5, end: 1 }));
  store.apply(update({ ...fr, segmentId: "TR_a-s1.ab-1", text: "Au revoir.", start: 2, end: 3 }));
  now = 6;
  const english = store.apply(
    update({
      segmentId: "TR_a-s1.ab-0~en",
      translationOf: "TR_a-s1.ab-0",
      text: "Hello.",
      final: true,
      language: "en",
      start: 0.4, // word times of a translation are rough: its original's count
      end: 1.1,
    }),
  );
  assert.equal(english?.translationOf, "TR_a\u0000TR_a-s1.ab-0");
  assert.deepEqual(
    store.transcript().map((e) => [e.text, e.start, e.language]),
    [
      ["Bonjour.", 4.5, "fr"],
      ["[EN] Hello.", 4.5, "en"],
      ["Au revoir.", 6, "fr"],
    ],
  );
  // the original is untouched
  assert.equal(store.transcript()[0]!.segment_id, "TR_a-s1.ab-0");
});
