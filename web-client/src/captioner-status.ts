/**
 * Whether captions can flow in a LiveKit room, judged from the captioning agent.
 *
 * The captioner (participant `AGENT_IDENTITY`) renews its `roomscribe.heartbeat`
 * attribute every 5 seconds. One that left the room (a worker whose engine failed
 * removes its captioner at once), or whose heartbeat stopped
 * for `staleMs`, has failed: the agents' healer gives the room a new captioner
 * within seconds, and meanwhile people read "Captions paused" instead of
 * missing captions without knowing. A room no captioner joined within
 * `missingMs` most likely has no roomscribe agent running.
 *
 * Speech before the captioner subscribes to your microphone is lost (LiveKit
 * does not buffer audio for a late subscriber; at room start that is the first
 * ~0.6 s). So while you publish a microphone, captions are "starting" (or
 * still "interrupted", with a captioner that replaces a failed one) until the
 * captioner says it hears it (`hearsYou`), or for at most `hearMs` after it
 * appeared (a captioner that never says so).
 *
 * A captioner whose worker has no free stream says which tracks wait
 * (`waitsForYou`): captions are "waiting" for capacity until it takes ours.
 *
 * Pure bookkeeping with times passed in, so it can be tested without a room.
 */

export type CaptionerState = "starting" | "on" | "waiting" | "interrupted" | "missing";

/** What the room shows of the captioner right now (`null`: not in the room). */
export interface CaptionerView {
  sid: string;
  /** The heartbeat attribute; `undefined` for a captioner that sends none (always counts as alive). */
  heartbeat: string | undefined;
  /** It said it captions your microphone; `undefined`: you publish none. */
  hearsYou?: boolean | undefined;
  /** It lists your microphone among the tracks waiting for capacity. */
  waitsForYou?: boolean | undefined;
}

export interface CaptionerWatchOptions {
  /** A heartbeat unchanged this long means the captioner stopped. */
  staleMs: number;
  /** No captioner this long after joining: none is coming. */
  missingMs: number;
  /** Longest a present captioner that has not said it hears your mic keeps the state
   * "starting" (or "interrupted", for one that replaces a failed captioner). */
  hearMs: number;
}

/**
 * A live captioner beats every 5 s, and a beat can reach the page seconds late
 * on a loaded 2-core machine (one attribute update once took 5 s to be
 * acknowledged), so 12 s of silence means trouble. The agents' healer usually
 * replaces a killed captioner within 5-7 s (the page then just sees a new one);
 * a stale heartbeat is for longer outages: the only worker died, or every
 * worker is overloaded.
 */
export const CAPTIONER_WATCH_DEFAULTS: CaptionerWatchOptions = {
  staleMs: 12_000,
  missingMs: 20_000,
  hearMs: 5_000,
};

export const CAPTIONER_TEXT: Record<CaptionerState, string> = {
  starting: "Captions starting…",
  on: "Captions on",
  waiting: "Captions waiting for capacity…",
  interrupted: "Captions paused, reconnecting…",
  missing: "No captioner in this room",
};

export class CaptionerWatch {
  private seen = false;
  private present = false;
  private sign = "";
  private beats = false;
  private signSince = 0;
  private sid = "";
  private sidSince = 0;
  private deaf = false;
  private waiting = false;
  /** The captioner replaces an earlier one (the captions were interrupted). */
  private replacement = false;

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
    if (captioner.sid !== this.sid) {
      this.replacement = this.sid !== "";
      this.sid = captioner.sid;
      this.sidSince = now;
    }
    this.deaf = captioner.hearsYou === false;
    this.waiting = captioner.waitsForYou === true;
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
    if (this.waiting) return "waiting";
    if (this.deaf && now - this.sidSince < this.options.hearMs) {
      return this.replacement ? "interrupted" : "starting";
    }
    return "on";
  }
}
