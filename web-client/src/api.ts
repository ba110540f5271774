/** The roomscribe HTTP API, with failures turned into readable errors. */

import { UserError } from "./errors.js";
import type { ServerConfig, TokenResponse } from "./protocol.js";

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new UserError(
      `Cannot reach the roomscribe server at ${location.origin}. Is "roomscribe serve" running?`,
    );
  }
  if (!response.ok) {
    const detail = await readDetail(response);
    if (response.status >= 400 && response.status < 500) {
      throw new UserError(detail || `Request refused (${response.status}).`);
    }
    throw new UserError(`Server error ${response.status}${detail ? `: ${detail}` : "."}`);
  }
  return (await response.json()) as T;
}

/** FastAPI-style `{"detail": "..."}` (or a validation list), else nothing. */
async function readDetail(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: unknown };
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail
        .map((d: { msg?: unknown }) => (typeof d.msg === "string" ? d.msg : ""))
        .filter(Boolean)
        .join("; ");
    }
  } catch {
    // Not JSON: the status code is all we have.
  }
  return "";
}

const postJson = <T>(path: string, body: unknown): Promise<T> =>
  request<T>(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

export const getConfig = (): Promise<ServerConfig> => request<ServerConfig>("/api/config");

export const getToken = (room: string, name: string): Promise<TokenResponse> =>
  postJson<TokenResponse>("/api/token", { room, name });

export interface OfferRequest {
  sdp: string;
  type: "offer";
  name: string;
  language: string;
}

export const postOffer = (offer: OfferRequest): Promise<RTCSessionDescriptionInit> =>
  postJson<RTCSessionDescriptionInit>("/api/offer", offer);
