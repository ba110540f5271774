/**
 * Whether captions can flow in a LiveKit room, judged from the captioning agent.
 *
 * The captioner (participant `AGENT_IDENTITY`) renews its `roomscribe.heartbeat`
 * attribute every second. One that left the room, or whose heartbeat stopped
 * for `staleMs`, has failed: the agents' healer gives the room a new captioner
 * within seconds, and meanwhile people read "Captions interrupted" instead of
 * missing captions without knowing. A room no captioner joined within
 * `missingMs` most likely has no roomscribe agent running.
 *
 * Pure bookkeeping with times passed in, so it can be tested without a room.
 */

export type CaptionerState = "starting" | "on" | "interrupted" | "missing";

/** What the room shows of the captioner right now (`null`: not in the room). */
export interface CaptionerView {
  sid: string;
  /** The heartbeat attribute; `undefined` for a captioner that sends none (always counts as alive). */
  heartbeat: string | undefined;
}

export interface CaptionerWatchOptions {
  /** A heartbeat unchanged this long means the captioner stopped. */
  staleMs: number;
  /** No captioner this long after joining: none is coming. */
  missingMs: number;
}

/**
 * A live captioner's beats reach the page up to ~6 s apart on a loaded 2-core
 * machine (one attribute update once took 5 s to be acknowledged), so 8 s of
 * silence means trouble. The agents' healer usually replaces a dead captioner
 * within 5-7 s (the page then just sees a new one); "interrupted" is for
 * longer outages: the only worker died, or every worker is overloaded.
 */
export const CAPTIONER_WATCH_DEFAULTS: CaptionerWatchOptions = { staleMs: 8_000, missingMs: 20_000 };

export const CAPTIONER_TEXT: Record<CaptionerState, string> = {
  starting: "Captions starting…",
  on: "Captions on",
  interrupted: "Captions interrupted, reconnecting…",
  missing: "No captioner in this room",
};

export class CaptionerWatch {
  private seen = false;
  private present = false;
  private sign = "";
  private beats = false;
  private signSince = 0;

  constructor(
    private readonly joinedAt: number,
    private readonly options: CaptionerWatchOptions = CAPTIONER_WATCH_DEFAULTS,
  ) {}

  /** Record what the room shows of the captioner at time `now` (ms). */
  observe(now: number, captioner: CaptionerView | null): void {
    if (captioner === null) {
      this.present = false;
      return;
    }
    const sign = `${captioner.sid}/${captioner.heartbeat ?? ""}`;
    if (!this.present || sign !== this.sign) {
      this.sign = sign;
      this.signSince = now;
    }
    this.present = true;
    this.seen = true;
    this.beats = captioner.heartbeat !== undefined;
  }

  state(now: number): CaptionerState {
    if (!this.seen) return now - this.joinedAt < this.options.missingMs ? "starting" : "missing";
    if (!this.present) return "interrupted";
    if (this.beats && now - this.signSince > this.options.staleMs) return "interrupted";
    return "on";
  }
}
