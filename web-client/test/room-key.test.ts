import assert from "node:assert/strict";
import { test } from "node:test";

import {
  decryptionFailure,
  DecryptionWatch,
  fragmentWithoutKey,
  keyFromFragment,
} from "../src/room-key.js";

test("the key comes from the fragment, URL-decoded", () => {
  assert.equal(keyFromFragment("#key=s3cret%20k%C3%A9y"), "s3cret kéy");
  assert.equal(keyFromFragment("#room=a&key=k"), "k");
  assert.equal(keyFromFragment(""), null);
  assert.equal(keyFromFragment("#key="), null);
});

test("the key is taken out of the fragment, the rest kept", () => {
  assert.equal(fragmentWithoutKey("#key=k"), "");
  assert.equal(fragmentWithoutKey("#x=1&key=k"), "#x=1");
  assert.equal(fragmentWithoutKey(""), "");
});

test("a participant whose media does not decrypt is reported once, by name", () => {
  const watch = new DecryptionWatch();
  const said = watch.failed("PA_ada", "Ada", "wrong-key");
  assert.ok(said?.startsWith("Cannot decrypt Ada's audio and captions with your room key"), said ?? "");
  assert.equal(watch.failed("PA_ada", "Ada", "wrong-key"), null); // once: frames keep failing
  assert.equal(watch.failed("PA_ada", "Ada", "no-key"), null);
  assert.ok(watch.failed("bob", "", "no-key")?.startsWith("Cannot decrypt bob's"));
});

test("a failure that is not about the key says nothing", () => {
  const watch = new DecryptionWatch();
  assert.equal(watch.failed("PA_ada", "Ada", "other"), null);
  assert.notEqual(watch.failed("PA_ada", "Ada", "wrong-key"), null); // still said when it is
});

test("livekit-client's worker errors are read by their reason", () => {
  // as livekit-client 2.23's E2EE worker words them (setupCryptorErrorEvents)
  const worker = (reason: string, message: string): Error => new Error(`${reason}: ${message}`);
  const frame = "DataCryptor: Decryption failed: OperationError";
  assert.equal(decryptionFailure(worker("InvalidKey", frame)), "wrong-key");
  assert.equal(decryptionFailure(worker("MissingKey", "missing key at index 0 for participant ada")), "no-key");
  assert.equal(decryptionFailure(worker("InternalError", "no active decrypt transform")), "other");
  assert.equal(decryptionFailure(new Error("Encrypted microphone track received ...")), "other");
});
