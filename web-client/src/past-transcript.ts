/**
 * "Past transcript": download a room's stored transcript after the meeting
 * (`GET /api/rooms/{room}/transcript`, LiveKit mode), in the formats of the
 * in-call downloads. The server renders it from its transcript store, with
 * speaker names as it issued them and times from the room's first caption.
 * The passcode travels in a header, never in the URL (URLs end up in logs).
 */

import { AuthError, UserError } from "./errors.js";
import { MIME_TYPES, type ExportFormat } from "./export.js";

export const PASSCODE_HEADER = "X-Roomscribe-Passcode";
const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The request `fetchPastTranscript` makes; `fetch` itself in the page. */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export function transcriptUrl(room: string, format: ExportFormat): string {
  return `/api/rooms/${encodeURIComponent(room)}/transcript?format=${format}`;
}

/** The room's transcript as a file's text; readable errors (401 as {@link AuthError}). */
export async function fetchPastTranscript(
  room: string,
  format: ExportFormat,
  passcode: string,
  fetcher: Fetcher = (url, init) => fetch(url, init),
): Promise<string> {
  if (!ROOM_PATTERN.test(room)) {
    throw new UserError("A room name is 1-64 letters, digits, - or _.");
  }
  const headers: Record<string, string> = passcode ? { [PASSCODE_HEADER]: passcode } : {};
  let response: Response;
  try {
    response = await fetcher(transcriptUrl(room, format), { headers });
  } catch {
    throw new UserError("Cannot reach the roomscribe server.");
  }
  if (response.ok) return await response.text();
  const detail = await detailOf(response);
  if (response.status === 401) throw new AuthError(detail || "This server needs a passcode.");
  if (response.status === 404) throw new UserError(detail || `No transcript is kept for ${room}.`);
  throw new UserError(detail || `Request refused (${response.status}).`);
}

async function detailOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: unknown };
    return typeof body.detail === "string" ? body.detail : "";
  } catch {
    return "";
  }
}

/** Wires the "Past transcript" card of index.html; `passcode()` reads the join form's. */
export function mountPastTranscript(
  passcode: () => string,
  download: (filename: string, text: string, mime: string) => void,
): void {
  const room = document.getElementById("past-room") as HTMLInputElement;
  const status = document.getElementById("past-status") as HTMLElement;
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-past-format]")) {
    button.addEventListener("click", () => {
      const format = button.dataset.pastFormat as ExportFormat;
      const name = room.value.trim();
      status.textContent = "Fetching…";
      fetchPastTranscript(name, format, passcode())
        .then((text) => {
          download(`roomscribe-${name}.${format}`, text, MIME_TYPES[format]);
          status.textContent = "";
        })
        .catch((err: unknown) => {
          status.textContent = err instanceof Error ? err.message : String(err);
        });
    });
  }
}
