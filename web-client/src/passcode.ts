/**
 * Where the join form keeps the server passcode between joins.
 *
 * The passcode is a shared secret: it is kept for this tab only
 * (`sessionStorage`, gone when the tab closes) and never in `localStorage`,
 * which outlives the session and is shared by every tab of the origin.
 */

const KEY = "roomscribe.passcode";

/** The part of `Storage` used here, so tests can hand in a map. */
export type PasscodeStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export class PasscodeMemory {
  /** `storage` is `sessionStorage`; `null` (storage blocked) remembers nothing. */
  constructor(private readonly storage: PasscodeStorage | null) {}

  /** The passcode this tab last joined with, or "". */
  recall(): string {
    try {
      return this.storage?.getItem(KEY) ?? "";
    } catch {
      return ""; // storage disabled by the browser's privacy settings
    }
  }

  /** Keep the passcode the server accepted. */
  remember(passcode: string): void {
    try {
      this.storage?.setItem(KEY, passcode);
    } catch {
      // Full or disabled: the person types it again next time.
    }
  }

  /** Drop a passcode the server refused. */
  forget(): void {
    try {
      this.storage?.removeItem(KEY);
    } catch {
      // Nothing stored.
    }
  }
}

/** `window.sessionStorage`, or `null` where the browser blocks it (reading it can throw). */
export function tabStorage(): PasscodeStorage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
