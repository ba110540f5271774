import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { getConfig, getToken, postLanguage, postOffer } from "../src/api.js";
import { AuthError, UserError } from "../src/errors.js";

const realFetch = globalThis.fetch;
Object.defineProperty(globalThis, "location", { value: { origin: "http://rs.test" } });

afterEach(() => {
  globalThis.fetch = realFetch;
});

function respond(status: number, body: unknown): void {
  globalThis.fetch = async () =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
}

test("an unreachable server says so", async () => {
  globalThis.fetch = async () => {
    throw new TypeError("fetch failed");
  };
  await assert.rejects(getConfig(), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /Cannot reach the roomscribe server at http:\/\/rs\.test/);
    return true;
  });
});

test("a refused token shows the server's detail", async () => {
  respond(400, { detail: "room must be 1-64 characters" });
  await assert.rejects(getToken({ room: "bad room", name: "Ada" }), { message: "room must be 1-64 characters" });
});

test("validation errors are joined", async () => {
  respond(422, { detail: [{ msg: "field required" }, { msg: "too long" }] });
  await assert.rejects(getToken({ room: "r", name: "" }), { message: "field required; too long" });
});

test("server errors carry the status", async () => {
  respond(503, { detail: "LiveKit server is unreachable" });
  await assert.rejects(getToken({ room: "r", name: "Ada" }), { message: "Server error 503: LiveKit server is unreachable" });
  respond(500, "<html>oops</html>");
  await assert.rejects(getConfig(), { message: "Server error 500." });
});

test("token requests post JSON and return the grant", async () => {
  let seen: { url: string; init: RequestInit | undefined } | undefined;
  globalThis.fetch = async (url: string | URL | Request, init?: RequestInit) => {
    seen = { url: String(url), init };
    return Response.json({ token: "t", url: "ws://lk", identity: "ada-1", room: "r" });
  };
  const grant = await getToken({ room: "r", name: "Ada" });
  assert.equal(grant.identity, "ada-1");
  assert.equal(seen?.url, "/api/token");
  assert.equal(seen?.init?.method, "POST");
  assert.deepEqual(JSON.parse(String(seen?.init?.body)), { room: "r", name: "Ada" });
});

test("the passcode goes with token and offer requests", async () => {
  const bodies: unknown[] = [];
  globalThis.fetch = async (url: string | URL | Request, init?: RequestInit) => {
    bodies.push([String(url), JSON.parse(String(init?.body))]);
    return String(url) === "/api/token"
      ? Response.json({ token: "t", url: "ws://lk", identity: "ada-1", room: "r" })
      : Response.json({ type: "answer", sdp: "v=0" });
  };
  await getToken({ room: "r", name: "Ada", passcode: "s3cret" });
  const offer = { sdp: "v=0", type: "offer", name: "Ada", language: "auto" } as const;
  await postOffer({ ...offer, passcode: "s3cret" });
  assert.deepEqual(bodies, [
    ["/api/token", { room: "r", name: "Ada", passcode: "s3cret" }],
    ["/api/offer", { ...offer, passcode: "s3cret" }],
  ]);
});

test("a refused passcode is an AuthError with the server's message", async () => {
  respond(401, { detail: "wrong passcode" });
  await assert.rejects(getToken({ room: "r", name: "Ada", passcode: "nope" }), (err: unknown) => {
    assert.ok(err instanceof AuthError);
    assert.ok(err instanceof UserError, "shown as is, not logged as a bug");
    assert.equal(err.message, "wrong passcode");
    return true;
  });
  respond(401, "");
  await assert.rejects(postOffer({ sdp: "v=0", type: "offer", name: "Ada", language: "auto" }), {
    name: "AuthError",
    message: "This server needs a passcode to join.",
  });
});

test("the spoken language is posted to the server with the room token", async () => {
  let sent: { url: string; body: unknown } | null = null;
  globalThis.fetch = async (url, init) => {
    sent = { url: String(url), body: JSON.parse(String(init?.body)) };
    return new Response(JSON.stringify({ room: "r", language: "de" }), { status: 200 });
  };
  const answer = await postLanguage({ room: "r", language: "de", token: "jwt" });
  assert.deepEqual(answer, { room: "r", language: "de" });
  assert.deepEqual(sent, { url: "/api/language", body: { room: "r", language: "de", token: "jwt" } });
});
