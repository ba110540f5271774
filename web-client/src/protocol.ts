/**
 * Wire names shared with the server. Mirrors `agent/roomscribe/protocol.py`;
 * change both together.
 */

/** Identity the captioning agent joins every LiveKit room with. */
export const AGENT_IDENTITY = "roomscribe-captions";

/** LiveKit text-stream topic carrying caption updates (LiveKit's own protocol). */
export const TRANSCRIPTION_TOPIC = "lk.transcription";
export const ATTR_SEGMENT_ID = "lk.segment_id";
export const ATTR_TRACK_ID = "lk.transcribed_track_id";
export const ATTR_FINAL = "lk.transcription_final";
export const ATTR_LANGUAGE = "roomscribe.language";
export const ATTR_START = "roomscribe.start";
export const ATTR_END = "roomscribe.end";
/** Revision number of a revised final ("1", "2"...); absent on live captions. */
export const ATTR_REVISION = "roomscribe.revision";
/**
 * `FORMAT_JSON` on a stream whose payload is livekit-agents' `json_format` (one
 * JSON `TimedString` per line: `text`, `start_time`, `end_time`, `confidence`);
 * absent: the payload is the plain text. A room gets it by setting
 * `METADATA_TRANSCRIPTION_FORMAT` in its metadata.
 */
export const ATTR_FORMAT = "roomscribe.format";
export const FORMAT_JSON = "json";
export const METADATA_TRANSCRIPTION_FORMAT = "roomscribe.transcription_format";

/** A caption's text and times read from `TimedString` lines. */
export interface TimedText {
  text: string;
  /** Seconds since the speaker's stream started (the first line's `start_time`). */
  start: number | null;
  /** The last line's `end_time`. */
  end: number | null;
}

/** Reads a `FORMAT_JSON` payload; lines that are not `TimedString`s are skipped. */
export function parseTimedStrings(payload: string): TimedText {
  let text = "";
  let start: number | null = null;
  let end: number | null = null;
  for (const line of payload.split("\n")) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    const timed = value as Record<string, unknown>;
    if (typeof timed.text !== "string") continue;
    text += timed.text;
    if (start === null && typeof timed.start_time === "number") start = timed.start_time;
    if (typeof timed.end_time === "number") end = timed.end_time;
  }
  return { text, start, end };
}

/**
 * On a translated final: the `lk.segment_id` of the original it translates (absent
 * on originals). Sent only to participants who asked ({@link ATTR_TRANSLATE_TO}).
 */
export const ATTR_TRANSLATION_OF = "roomscribe.translation_of";

/**
 * Participant attribute: language code the participant speaks, or `auto`. Set by
 * the server (`POST /api/language`): join tokens may not change their own
 * attributes, or their name.
 */
export const ATTR_SPOKEN_LANGUAGE = "roomscribe.spoken_language";

/**
 * Participant attribute: the language this listener also wants captions in
 * (`en`), absent for the originals only. Set by the server (`POST /api/translation`).
 */
export const ATTR_TRANSLATE_TO = "roomscribe.translate_to";

/** Languages captions can be translated into (Whisper translates into English only). */
export const TRANSLATION_TARGETS = [["en", "English"]] as const;

/** Participant attribute the captioner renews every second (see captioner-status.ts). */
export const ATTR_HEARTBEAT = "roomscribe.heartbeat";

/**
 * Participant attribute of the captioner: the sids of the audio tracks it would
 * caption but cannot yet (every stream of its worker is in use), space-separated;
 * absent when none wait.
 */
export const ATTR_WAITING = "roomscribe.waiting";

/** The track sids in an {@link ATTR_WAITING} value. */
export function waitingTracks(value: string | undefined): Set<string> {
  return new Set((value ?? "").split(" ").filter((sid) => sid !== ""));
}

/** Track name of a shared browser tab's audio. */
export const TAB_AUDIO_TRACK_NAME = "roomscribe-tab-audio";

/** Embedded mode: label of the RTCDataChannel carrying captions. */
export const DATA_CHANNEL_LABEL = "captions";
export const MESSAGE_CAPTION = "caption";
export const MESSAGE_ERROR = "error";
export const MESSAGE_HELLO = "hello";
/** Embedded mode, client to server: change the spoken language. */
export const MESSAGE_SET_LANGUAGE = "set_language";

/** `GET /api/config`. */
export type ServerConfig = (
  | { mode: "livekit"; livekit_url: string }
  | { mode: "embedded" }
) & {
  /** `POST /api/token` and `/api/offer` need `passcode` (older servers leave it out). */
  passcode_required?: boolean;
};

/** `POST /api/token` body. The server chooses the identity. */
export interface TokenRequest {
  room: string;
  name: string;
  /** Only when the server asks for one (`passcode_required`). */
  passcode?: string;
}

/** `POST /api/token` response. */
export interface TokenResponse {
  token: string;
  url: string;
  identity: string;
  room: string;
}

/** `POST /api/offer` body (embedded mode). */
export interface OfferRequest {
  sdp: string;
  type: "offer";
  name: string;
  language: string;
  /** Only when the server asks for one (`passcode_required`). */
  passcode?: string;
}

/** Body of every 4xx/5xx answer: FastAPI's `{"detail": ...}`. */
export interface ErrorResponse {
  detail?: string | { msg?: string }[];
}

export interface WireWord {
  start: number;
  end: number;
  text: string;
  probability: number;
}

/** Embedded-mode data-channel caption message (`caption_message` in protocol.py). */
export interface CaptionMessage {
  type: typeof MESSAGE_CAPTION;
  segment_id: string;
  text: string;
  final: boolean;
  speaker: string;
  track_id: string;
  start: number;
  end: number;
  language: string | null;
  /** 0 for live captions; n >= 1 for the n-th revision of a final segment. */
  revision: number;
  words: WireWord[];
}

export interface ErrorMessage {
  type: typeof MESSAGE_ERROR;
  message: string;
}

/** A revision number from the wire (attribute string or JSON number); 0 when absent or bad. */
export function parseRevision(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 0;
}

/** Parses one data-channel message; unknown or malformed messages give `null`. */
export function parseDataChannelMessage(raw: string): CaptionMessage | ErrorMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const msg = value as Record<string, unknown>;
  if (msg.type === MESSAGE_ERROR && typeof msg.message === "string") {
    return { type: MESSAGE_ERROR, message: msg.message };
  }
  if (
    msg.type === MESSAGE_CAPTION &&
    typeof msg.segment_id === "string" &&
    typeof msg.text === "string" &&
    typeof msg.final === "boolean"
  ) {
    return {
      type: MESSAGE_CAPTION,
      segment_id: msg.segment_id,
      text: msg.text,
      final: msg.final,
      speaker: typeof msg.speaker === "string" ? msg.speaker : "",
      track_id: typeof msg.track_id === "string" ? msg.track_id : "",
      start: typeof msg.start === "number" ? msg.start : 0,
      end: typeof msg.end === "number" ? msg.end : 0,
      language: typeof msg.language === "string" ? msg.language : null,
      revision: parseRevision(msg.revision),
      words: Array.isArray(msg.words) ? (msg.words as WireWord[]) : [],
    };
  }
  return null;
}

/**
 * LiveKit mode: text stream from the captioning agent to one late joiner alone,
 * a JSON list of {@link BacklogSegment} (the room's finals so far, oldest first).
 */
export const BACKLOG_TOPIC = "roomscribe.backlog";

/**
 * Reliable data packet from the captioner to one participant alone once it
 * captions one of their tracks; payload: that track's sid. Speech before it is
 * lost, so the page says captions are starting until it hears our microphone.
 */
export const HEARING_TOPIC = "roomscribe.hearing";
/** Key of the room metadata (a JSON object) holding the room's vocabulary terms. */
export const METADATA_VOCABULARY = "roomscribe.vocabulary";

/** One final segment of the backlog (`backlog_entry` in protocol.py). */
export interface BacklogSegment {
  /** Identity of the participant who spoke. */
  speaker: string;
  speaker_name: string;
  track_id: string;
  segment_id: string;
  text: string;
  start: number;
  end: number;
  language: string | null;
  revision: number;
}

/** Parses a backlog stream; malformed entries are left out, a malformed list gives `[]`. */
export function parseBacklog(raw: string): BacklogSegment[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: BacklogSegment[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const s = item as Record<string, unknown>;
    if (
      typeof s.segment_id !== "string" ||
      typeof s.track_id !== "string" ||
      typeof s.text !== "string" ||
      typeof s.start !== "number" ||
      typeof s.end !== "number"
    ) {
      continue;
    }
    out.push({
      speaker: typeof s.speaker === "string" ? s.speaker : "",
      speaker_name: typeof s.speaker_name === "string" ? s.speaker_name : "",
      track_id: s.track_id,
      segment_id: s.segment_id,
      text: s.text,
      start: s.start,
      end: s.end,
      language: typeof s.language === "string" ? s.language : null,
      revision: typeof s.revision === "number" ? s.revision : 0,
    });
  }
  return out;
}

/** The room's vocabulary from its metadata; `[]` when it has none. */
export function roomVocabulary(metadata: string | undefined): string[] {
  if (!metadata) return [];
  try {
    const value = (JSON.parse(metadata) as Record<string, unknown>)[METADATA_VOCABULARY];
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return [];
  }
}

/** `POST /api/vocabulary` body: `token` is the caller's LiveKit token for `room`. */
export interface VocabularyRequest {
  room: string;
  terms: string[];
  token: string;
  /** Only when the server asks for one (`passcode_required`). */
  passcode?: string;
}

/** `POST /api/language` body: `token` is the caller's LiveKit token for `room`. */
export interface LanguageRequest {
  room: string;
  /** A language code, or `auto`. */
  language: string;
  token: string;
  /** Only when the server asks for one (`passcode_required`). */
  passcode?: string;
}

/** `POST /api/language` response: the value set. */
export interface LanguageResponse {
  room: string;
  language: string;
}

/** `POST /api/translation` body: `target` is `en`, or `""` for the originals only. */
export interface TranslationRequest {
  room: string;
  target: string;
  token: string;
  /** Only when the server asks for one (`passcode_required`). */
  passcode?: string;
}

/** `POST /api/translation` response: the value set. */
export interface TranslationResponse {
  room: string;
  target: string;
}

/** `POST /api/vocabulary` response: the terms as stored (normalized). */
export interface VocabularyResponse {
  room: string;
  terms: string[];
}
