import assert from "node:assert/strict";
import { test } from "node:test";

import { judgeCaptionStream, type SenderFacts, type Verdict } from "../src/caption-authors.js";
import { AGENT_IDENTITY } from "../src/protocol.js";

const agent: SenderFacts = { identity: AGENT_IDENTITY, isAgent: true, canPublishData: true };
// A web user: /api/token grants no data publishing.
const ada: SenderFacts = { identity: "ada-1", isAgent: false, canPublishData: false };
// A participant whose token (from elsewhere) lets it publish data.
const mallory: SenderFacts = { identity: "mallory", isAgent: false, canPublishData: true };

const judge = (name: string, sender: SenderFacts | undefined, owner?: string): Verdict =>
  judgeCaptionStream({ senderIdentity: name, sender, trackOwner: owner });

test("the agent's own streams are captions", () => {
  assert.deepEqual(judge(AGENT_IDENTITY, agent, "ada-1"), { accept: true });
});

test("a stream relayed on behalf of a participant who cannot publish data is a caption", () => {
  assert.deepEqual(judge("ada-1", ada, "ada-1"), { accept: true });
  // The track can be gone already (a last final after unpublishing).
  assert.deepEqual(judge("ada-1", ada, undefined), { accept: true });
});

test("a participant that may publish data is never believed", () => {
  const verdict = judge("mallory", mallory, "ada-1");
  assert.equal(verdict.accept, false);
  assert.match(verdict.accept ? "" : verdict.reason, /may publish data/);
  // ... not even about its own track.
  assert.equal(judge("mallory", mallory, "mallory").accept, false);
});

test("unknown permissions, unknown or hidden senders are rejected", () => {
  const unknown: SenderFacts = { identity: "bob", isAgent: false, canPublishData: undefined };
  assert.equal(judge("bob", unknown, "bob").accept, false);
  assert.equal(judge("ghost", undefined).accept, false);
  assert.equal(judge("", undefined).accept, false);
});

test("a relayed stream about someone else's track is rejected", () => {
  assert.deepEqual(judge("ada-1", ada, "bob-2"), {
    accept: false,
    reason: 'the transcribed track belongs to "bob-2"',
  });
});
