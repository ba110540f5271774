import assert from "node:assert/strict";
import { test } from "node:test";

import { AuthError, UserError } from "../src/errors.js";
import { fetchPastTranscript, PASSCODE_HEADER, type Fetcher } from "../src/past-transcript.js";

function server(status: number, body: string): { fetcher: Fetcher; calls: [string, RequestInit][] } {
  const calls: [string, RequestInit][] = [];
  const fetcher: Fetcher = async (url, init) => {
    calls.push([url, init]);
    return new Response(body, { status });
  };
  return { fetcher, calls };
}

test("fetches the room's transcript with the passcode in a header, not the URL", async () => {
  const { fetcher, calls } = server(200, "[00:00] Ada: Hello.\n");
  const text = await fetchPastTranscript("standup", "txt", "s3cret", fetcher);
  assert.equal(text, "[00:00] Ada: Hello.\n");
  assert.equal(calls[0]![0], "/api/rooms/standup/transcript?format=txt");
  assert.deepEqual(calls[0]![1].headers, { [PASSCODE_HEADER]: "s3cret" });
});

test("no passcode, no header", async () => {
  const { fetcher, calls } = server(200, "WEBVTT\n");
  await fetchPastTranscript("standup", "vtt", "", fetcher);
  assert.deepEqual(calls[0]![1].headers, {});
});

test("the server's refusals become readable errors", async () => {
  const refused = server(401, JSON.stringify({ detail: "wrong passcode" }));
  await assert.rejects(fetchPastTranscript("a", "json", "x", refused.fetcher), (e: unknown) => {
    return e instanceof AuthError && e.message === "wrong passcode";
  });
  const missing = server(404, JSON.stringify({ detail: "no transcript is kept for room a" }));
  await assert.rejects(fetchPastTranscript("a", "srt", "", missing.fetcher), /no transcript/);
  const { fetcher, calls } = server(200, "");
  await assert.rejects(fetchPastTranscript("../etc", "txt", "", fetcher), UserError);
  assert.equal(calls.length, 0); // a bad name never reaches the server
});
