/**
 * Caption store: one entry per segment, updated in place.
 *
 * Every update carries the segment's full current text, so an update replaces
 * the entry rather than appending to it. A final segment changes again only
 * through a revision (the server re-read the speech with more context): a
 * final update with a higher `revision` replaces its text, and the transcript
 * and downloads show the revised text.
 * Server times are seconds since *that caption stream* started; the store maps
 * them onto one session clock so captions from different speakers interleave.
 * A track can be captioned by several streams in turn (a room healed after its
 * worker died, an engine stream reopened after failures), each counting from
 * zero: a stream is its segment ids without the trailing `-<n>`
 * (`TR_x-s3.ab12cd` of `TR_x-s3.ab12cd-7`), unique across workers.
 */

import type { TranscriptEntry } from "./export.js";

/** One caption update as every transport delivers it. */
export interface CaptionUpdate {
  segmentId: string;
  trackId: string;
  /** Label shown to people, e.g. `Ada` or `Ada (shared audio)`. */
  speaker: string;
  text: string;
  final: boolean;
  /** Seconds since the track's stream started, when the server sent them. */
  start: number | null;
  end: number | null;
  language: string | null;
  /** 0 (or absent) for live captions; n >= 1 for the n-th revision of a final. */
  revision?: number;
  /** On a translation (its own segment id): the segment id of the original it translates. */
  translationOf?: string;
}

export interface Caption {
  /** Unique per track and segment: segment ids are only unique per stream. */
  key: string;
  segmentId: string;
  trackId: string;
  speaker: string;
  text: string;
  final: boolean;
  /** Seconds since the session started. */
  start: number;
  end: number;
  language: string | null;
  /** 0 for what was shown live; n >= 1 once the n-th revision replaced the text. */
  revision: number;
  /** On a translation (`language` is its language): the `key` of the original; else `null`. */
  translationOf: string | null;
}

export type CaptionListener = (caption: Caption) => void;

export class CaptionStore {
  private readonly captions = new Map<string, Caption>();
  /** Per caption stream (see `clockOf`): session time at which its time was zero. */
  private readonly streamOffsets = new Map<string, number>();
  private readonly listeners = new Set<CaptionListener>();

  /** `now()` is seconds since the session started (injectable for tests). */
  constructor(private readonly now: () => number) {}

  /** Registers `listener`; the returned function removes it. */
  subscribe(listener: CaptionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one update; returns the stored caption, or `null` if it was ignored. */
  apply(update: CaptionUpdate): Caption | null {
    const key = `${update.trackId}\u0000${update.segmentId}`;
    const previous = this.captions.get(key);
    const revision = update.revision ?? 0;
    // a final changes only by a newer revision (late or repeated ones are ignored)
    if (previous?.final && !(update.final && revision > previous.revision)) return null;
    const { start, end } = this.sessionTimes(update, previous);
    const caption: Caption = {
      key,
      segmentId: update.segmentId,
      trackId: update.trackId,
      speaker: update.speaker,
      text: update.text.trim(),
      final: update.final,
      start,
      end,
      language: update.language,
      revision,
      translationOf: update.translationOf ? `${update.trackId}\u0000${update.translationOf}` : null,
    };
    this.captions.set(key, caption);
    for (const listener of this.listeners) listener(caption);
    return caption;
  }

  /**
   * Final captions as export entries, in start order; a translation right after
   * its original, with its times and a `[EN]` mark.
   */
  transcript(): TranscriptEntry[] {
    return [...this.captions.values()]
      .filter((c) => c.final && c.text !== "")
      .map((c) => {
        const original = c.translationOf === null ? c : this.captions.get(c.translationOf);
        if (!original) return null;
        const mark = original === c ? "" : `[${(c.language ?? "").toUpperCase()}] `;
        return {
          speaker: c.speaker,
          segment_id: c.segmentId,
          start: original.start,
          end: original.end,
          text: mark + c.text,
          language: c.language,
        };
      })
      .filter((e): e is TranscriptEntry => e !== null)
      .sort((a, b) => a.start - b.start || a.end - b.end);
  }

  clear(): void {
    this.captions.clear();
    this.streamOffsets.clear();
  }

  private sessionTimes(
    update: CaptionUpdate,
    previous: Caption | undefined,
  ): { start: number; end: number } {
    const now = this.now();
    if (update.start === null || update.end === null) {
      // No server times: the segment started when it was first shown.
      return { start: previous?.start ?? now, end: now };
    }
    const clock = clockOf(update);
    let offset = this.streamOffsets.get(clock);
    if (offset === undefined) {
      // The first caption of a stream arrives just after its audio ended.
      offset = Math.max(0, now - update.end);
      this.streamOffsets.set(clock, offset);
    }
    return { start: offset + update.start, end: offset + update.end };
  }
}

/** The clock an update's times run on: its track and caption stream. */
function clockOf(update: CaptionUpdate): string {
  const cut = update.segmentId.lastIndexOf("-");
  const stream = cut > 0 ? update.segmentId.slice(0, cut) : "";
  return `${update.trackId}\u0000${stream}`;
}
