import assert from "node:assert/strict";
import { test } from "node:test";

import { fragmentWithoutKey, keyFromFragment } from "../src/room-key.js";

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
