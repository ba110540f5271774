import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_SETTINGS,
  loadSettings,
  parseSettings,
  saveSettings,
  STORAGE_KEY,
  type DisplaySettings,
} from "../src/display-settings.js";

/** `localStorage`'s two methods, over a Map. */
function memoryStorage(): Pick<Storage, "getItem" | "setItem"> & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
  };
}

test("nothing stored: the defaults", () => {
  assert.deepEqual(parseSettings(null), DEFAULT_SETTINGS);
  assert.deepEqual(loadSettings(memoryStorage()), DEFAULT_SETTINGS);
});

test("saved settings come back in a new page", () => {
  const storage = memoryStorage();
  const mine: DisplaySettings = {
    textSize: 175,
    theme: "contrast",
    liveLines: 2,
    position: "below",
    autoScroll: false,
    announceFinals: false,
  };
  saveSettings(storage, mine);
  assert.ok(storage.items.has(STORAGE_KEY));
  assert.deepEqual(loadSettings(storage), mine);
});

test("out-of-range numbers are clamped: text size up to 200 %, 1-10 live lines", () => {
  const s = parseSettings(JSON.stringify({ textSize: 400, liveLines: 0 }));
  assert.equal(s.textSize, 200);
  assert.equal(s.liveLines, 1);
  assert.equal(parseSettings(JSON.stringify({ textSize: 10, liveLines: 99 })).liveLines, 10);
  assert.equal(parseSettings(JSON.stringify({ textSize: 10 })).textSize, 100);
});

test("unknown or malformed values fall back to their defaults, the rest is kept", () => {
  const s = parseSettings(
    JSON.stringify({ theme: "neon", position: "left", autoScroll: "no", textSize: "big", liveLines: 3 }),
  );
  assert.deepEqual(s, { ...DEFAULT_SETTINGS, liveLines: 3 });
  for (const raw of ["{not json", "[1,2]", "42", '"dark"', "null"]) {
    assert.deepEqual(parseSettings(raw), DEFAULT_SETTINGS, raw);
  }
});
