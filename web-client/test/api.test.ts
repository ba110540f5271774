import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { getConfig, getToken } from "../src/api.js";
import { UserError } from "../src/errors.js";

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
  await assert.rejects(getToken("bad room", "Ada"), { message: "room must be 1-64 characters" });
});

test("validation errors are joined", async () => {
  respond(422, { detail: [{ msg: "field required" }, { msg: "too long" }] });
  await assert.rejects(getToken("r", ""), { message: "field required; too long" });
});

test("server errors carry the status", async () => {
  respond(503, { detail: "LiveKit server is unreachable" });
  await assert.rejects(getToken("r", "Ada"), { message: "Server error 503: LiveKit server is unreachable" });
  respond(500, "<html>oops</html>");
  await assert.rejects(getConfig(), { message: "Server error 500." });
});

test("token requests post JSON and return the grant", async () => {
  let seen: { url: string; init: RequestInit | undefined } | undefined;
  globalThis.fetch = async (url: string | URL | Request, init?: RequestInit) => {
    seen = { url: String(url), init };
    return Response.json({ token: "t", url: "ws://lk", identity: "ada-1", room: "r" });
  };
  const grant = await getToken("r", "Ada");
  assert.equal(grant.identity, "ada-1");
  assert.equal(seen?.url, "/api/token");
  assert.equal(seen?.init?.method, "POST");
  assert.deepEqual(JSON.parse(String(seen?.init?.body)), { room: "r", name: "Ada" });
});
