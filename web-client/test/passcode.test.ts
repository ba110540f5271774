import assert from "node:assert/strict";
import { test } from "node:test";

import { PasscodeMemory, type PasscodeStorage } from "../src/passcode.js";

function mapStorage(): PasscodeStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

test("an accepted passcode is recalled, a refused one forgotten", () => {
  const storage = mapStorage();
  const memory = new PasscodeMemory(storage);
  assert.equal(memory.recall(), "");
  memory.remember("s3cret");
  assert.equal(memory.recall(), "s3cret");
  assert.deepEqual([...storage.items.values()], ["s3cret"]);
  memory.forget();
  assert.equal(memory.recall(), "");
  assert.equal(storage.items.size, 0);
});

test("blocked or missing storage remembers nothing and never throws", () => {
  const blocked: PasscodeStorage = {
    getItem: () => {
      throw new DOMException("denied", "SecurityError");
    },
    setItem: () => {
      throw new DOMException("full", "QuotaExceededError");
    },
    removeItem: () => {
      throw new DOMException("denied", "SecurityError");
    },
  };
  for (const memory of [new PasscodeMemory(blocked), new PasscodeMemory(null)]) {
    memory.remember("s3cret");
    assert.equal(memory.recall(), "");
    memory.forget();
  }
});
