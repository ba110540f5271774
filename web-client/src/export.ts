/**
 * Transcript export: pure functions from final captions to TXT, SRT, WebVTT
 * and JSON. No DOM access, so `npm test` runs them under plain Node.
 */

/** One final caption as it appears in every export format. */
export interface TranscriptEntry {
  speaker: string;
  segment_id: string;
  /** Seconds since the session started. */
  start: number;
  end: number;
  text: string;
  language: string | null;
}

export type ExportFormat = "txt" | "srt" | "vtt" | "json";

export const MIME_TYPES: Record<ExportFormat, string> = {
  txt: "text/plain;charset=utf-8",
  srt: "application/x-subrip;charset=utf-8",
  vtt: "text/vtt;charset=utf-8",
  json: "application/json;charset=utf-8",
};

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

function splitMillis(seconds: number): { h: number; m: number; s: number; ms: number } {
  const total = Math.max(0, Math.round(seconds * 1000));
  return {
    h: Math.floor(total / 3_600_000),
    m: Math.floor(total / 60_000) % 60,
    s: Math.floor(total / 1000) % 60,
    ms: total % 1000,
  };
}

/** `HH:MM:SS,mmm` (SRT, `separator=","`) or `HH:MM:SS.mmm` (WebVTT). */
export function formatTimestamp(seconds: number, separator: "," | "."): string {
  const { h, m, s, ms } = splitMillis(seconds);
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms, 3)}`;
}

/** Short clock for people: `mm:ss`, or `h:mm:ss` past the first hour. */
export function formatClock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** Entries ordered by start time (then end, then segment id), empty texts dropped. */
export function ordered(entries: readonly TranscriptEntry[]): TranscriptEntry[] {
  return entries
    .filter((e) => e.text.trim() !== "")
    .slice()
    .sort(
      (a, b) => a.start - b.start || a.end - b.end || a.segment_id.localeCompare(b.segment_id),
    );
}

/** Cue end never precedes its start, whatever the server sent. */
const cueEnd = (e: TranscriptEntry): number => Math.max(e.start, e.end);

/** One line per caption: `[mm:ss] Speaker: text`. */
export function toTxt(entries: readonly TranscriptEntry[]): string {
  return ordered(entries)
    .map((e) => `[${formatClock(e.start)}] ${e.speaker}: ${e.text.trim()}\n`)
    .join("");
}

export function toSrt(entries: readonly TranscriptEntry[]): string {
  return ordered(entries)
    .map(
      (e, i) =>
        `${i + 1}\n${formatTimestamp(e.start, ",")} --> ${formatTimestamp(cueEnd(e), ",")}\n` +
        `${e.speaker}: ${e.text.trim()}\n`,
    )
    .join("\n");
}

/** WebVTT with a voice span per cue, so players can show or style the speaker. */
export function toVtt(entries: readonly TranscriptEntry[]): string {
  const cues = ordered(entries).map(
    (e) =>
      `${formatTimestamp(e.start, ".")} --> ${formatTimestamp(cueEnd(e), ".")}\n` +
      `<v ${escapeVtt(e.speaker)}>${escapeVtt(e.text.trim())}\n`,
  );
  return ["WEBVTT\n", ...cues].join("\n");
}

export function toJson(entries: readonly TranscriptEntry[]): string {
  const rows = ordered(entries).map((e) => ({
    speaker: e.speaker,
    segment_id: e.segment_id,
    start: round3(e.start),
    end: round3(cueEnd(e)),
    text: e.text.trim(),
    language: e.language,
  }));
  return JSON.stringify(rows, null, 2) + "\n";
}

export function render(format: ExportFormat, entries: readonly TranscriptEntry[]): string {
  switch (format) {
    case "txt":
      return toTxt(entries);
    case "srt":
      return toSrt(entries);
    case "vtt":
      return toVtt(entries);
    case "json":
      return toJson(entries);
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** `<`, `>` and `&` would start markup inside a cue; `-->` would end the timing line. */
function escapeVtt(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
