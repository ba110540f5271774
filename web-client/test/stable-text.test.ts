import assert from "node:assert/strict";
import { test } from "node:test";

import { stableText } from "../src/stable-text.js";

/** What the panel shows after each update of one segment, in order. */
function shownAfter(updates: [string, boolean][]): string[] {
  let shown = "";
  return updates.map(([text, final]) => (shown = stableText(shown, text, final)));
}

test("growing interims are shown as they come", () => {
  assert.deepEqual(
    shownAfter([
      ["so", false],
      ["so we", false],
      ["so we will", false],
    ]),
    ["so", "so we", "so we will"],
  );
});

test("a shorter interim keeps the longer shown text until the final", () => {
  assert.deepEqual(
    shownAfter([
      ["so we will meet", false],
      ["so we will", false],
      ["so we'll", false],
      ["So we'll meet.", true],
    ]),
    ["so we will meet", "so we will meet", "so we will meet", "So we'll meet."],
  );
});

test("a re-read at least as long replaces the shown text", () => {
  assert.deepEqual(
    shownAfter([
      ["press to", false],
      ["press two", false],
      ["Press 2 now", false],
    ]),
    ["press to", "press two", "Press 2 now"],
  );
});

test("the final replaces the shown text even when shorter", () => {
  assert.equal(stableText("and then we uh we", "And then we.", true), "And then we.");
});

test("the shown text never shrinks before the final", () => {
  const updates: [string, boolean][] = [
    ["a b c", false],
    ["a b", false],
    ["a b c d", false],
    ["a", false],
    ["a b c d e", false],
  ];
  const lengths = shownAfter(updates).map((t) => t.length);
  assert.deepEqual(lengths, [...lengths].sort((x, y) => x - y));
});
