/** The roomscribe HTTP API, with failures turned into readable errors. */

import { AuthError, UserError } from "./errors.js";
import type {
  ErrorResponse,
  LanguageRequest,
  LanguageResponse,
  OfferRequest,
  ServerConfig,
  TokenRequest,
  TokenResponse,
  TranslationRequest,
  TranslationResponse,
  VocabularyRequest,
  VocabularyResponse,
} from "./protocol.js";

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
    if (response.status === 401) {
      throw new AuthError(detail || "This server needs a passcode to join.");
    }
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
    const body = (await response.json()) as ErrorResponse;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail
        .map((d) => (typeof d.msg === "string" ? d.msg : ""))
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

/** A join token; `request.passcode` is sent only when given. */
export const getToken = (request: TokenRequest): Promise<TokenResponse> =>
  postJson<TokenResponse>("/api/token", request);

/** Embedded mode: the server's answer to a WebRTC offer. */
export const postOffer = (offer: OfferRequest): Promise<RTCSessionDescriptionInit> =>
  postJson<RTCSessionDescriptionInit>("/api/offer", offer);

/** LiveKit mode: sets the room's vocabulary; the server answers with the stored terms. */
export const postVocabulary = (request: VocabularyRequest): Promise<VocabularyResponse> =>
  postJson<VocabularyResponse>("/api/vocabulary", request);

/** LiveKit mode: sets the caller's spoken language (its token may not set its own attributes). */
export const postLanguage = (request: LanguageRequest): Promise<LanguageResponse> =>
  postJson<LanguageResponse>("/api/language", request);

/** LiveKit mode: asks for captions also in `target` (`en`), or stops (`""`). */
export const postTranslation = (request: TranslationRequest): Promise<TranslationResponse> =>
  postJson<TranslationResponse>("/api/translation", request);
