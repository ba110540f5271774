/** What the UI needs from a call, whichever server delivers the captions. */

import type { CaptionUpdate } from "./captions.js";

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "disconnected";

export interface ParticipantView {
  identity: string;
  name: string;
  isLocal: boolean;
  speaking: boolean;
  /** 0..1 when known. */
  audioLevel: number;
  /** Spoken-language code the participant picked, or `null` for `auto`/unknown. */
  language: string | null;
  /** The captioner cannot caption them yet: its worker has no free stream (LiveKit mode). */
  captionsWaiting?: boolean;
}

export interface JoinOptions {
  room: string;
  name: string;
  /** Spoken-language code, or `auto`. */
  language: string;
  /** The server's passcode, when `/api/config` says one is required; else `null`. */
  passcode: string | null;
}

/** Callbacks a transport reports through; set once, at construction. */
export interface TransportHandlers {
  caption(update: CaptionUpdate): void;
  state(state: ConnectionState): void;
  participants(list: ParticipantView[]): void;
  /** A problem people should read; the call may carry on. */
  error(message: string): void;
  /** A shared tab started or stopped being captioned (also when the browser's own "Stop sharing" is used). */
  tabSharing(active: boolean): void;
}

export interface Transport {
  /** Whether this mode can caption a shared tab. */
  readonly canShareTab: boolean;
  /**
   * Joins and starts the microphone; rejects with a readable `Error`.
   * Resolves whether the microphone is live (a denied mic may still leave a call).
   */
  connect(options: JoinOptions): Promise<{ micEnabled: boolean }>;
  setMicEnabled(enabled: boolean): Promise<void>;
  setLanguage(language: string): Promise<void>;
  /** Asks for a tab and captions its audio; reports through `tabSharing`. */
  shareTab(): Promise<void>;
  stopShareTab(): Promise<void>;
  /** Leaves the call and releases every device and handler. */
  close(): Promise<void>;
}

/** Turns a getUserMedia/getDisplayMedia failure into a sentence for people. */
export function describeMediaError(err: unknown, what: "microphone" | "tab"): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  if (what === "tab") {
    if (name === "NotAllowedError") return "Tab sharing was cancelled or blocked.";
    return `Could not share a tab: ${errorText(err)}`;
  }
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was denied: allow it for this site in the browser's settings.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found: plug one in.";
    case "NotReadableError":
      return "The microphone is in use by another application.";
    default:
      return `Could not start the microphone: ${errorText(err)}`;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
