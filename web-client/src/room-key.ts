/**
 * End-to-end encrypted rooms: the shared key people type on the join page or
 * receive in a link's fragment (`#key=...`). Neither reaches our server: a
 * URL fragment is never sent in a request, and the key is handed only to
 * livekit-client's E2EE worker (see `LiveKitTransport`).
 */

/** The `key` of a URL fragment (`#key=...`, URL-encoded), or `null`. */
export function keyFromFragment(hash: string): string | null {
  const key = new URLSearchParams(hash.replace(/^#/, "")).get("key");
  return key ? key : null;
}

/** `hash` without its `key` (kept out of the address bar, the history and screenshots). */
export function fragmentWithoutKey(hash: string): string {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  params.delete("key");
  const rest = params.toString();
  return rest ? `#${rest}` : "";
}

/** The page's URL of livekit-client's E2EE worker, bundled by build.mjs next to app.js. */
export const E2EE_WORKER = "e2ee-worker.js";

/** Shown to someone without the key in an encrypted room. */
export const NEEDS_KEY =
  "This room is end-to-end encrypted: leave and join again with its room key to hear it and read its captions.";
