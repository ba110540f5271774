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

/** Why a participant's media did not decrypt here, as livekit-client's E2EE worker says. */
export type DecryptionFailure = "wrong-key" | "no-key" | "other";

/**
 * What a livekit-client `EncryptionError` says. Its E2EE worker posts a plain
 * `Error` across the worker boundary (a `CryptorError` does not survive it), with
 * the `CryptorErrorReason` name first: `"InvalidKey: ..."`, `"MissingKey: ..."`.
 */
export function decryptionFailure(err: Error): DecryptionFailure {
  if (err.message.startsWith("InvalidKey")) return "wrong-key";
  if (err.message.startsWith("MissingKey")) return "no-key";
  return "other";
}

/**
 * Says, once per participant, that what they send cannot be decrypted with the
 * key this page holds. A wrong key is only seen that way: nothing is exchanged
 * at join, the room just goes silent and shows no captions, so the person must
 * be told which key to check.
 */
export class DecryptionWatch {
  private readonly told = new Set<string>();

  /** What to show when `name`'s (`identity`) media fails to decrypt; `null`: said already, or not a key problem. */
  failed(identity: string, name: string, why: DecryptionFailure): string | null {
    if (why === "other" || this.told.has(identity)) return null;
    this.told.add(identity);
    return `Cannot decrypt ${name || identity}'s audio and captions with your room key: leave and join again with the room's key.`;
  }
}
