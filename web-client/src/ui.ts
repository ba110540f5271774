/** DOM rendering. Stateless about the call: main.ts tells it what to show. */

import type { Caption } from "./captions.js";
import { CAPTIONER_TEXT, type CaptionerState } from "./captioner-status.js";
import { formatClock } from "./export.js";
import { languageName } from "./languages.js";
import { stableText } from "./stable-text.js";
import type { ConnectionState, ParticipantView } from "./transport.js";

/** How many finals the screen-reader region keeps (older ones were read already). */
const ANNOUNCED_KEPT = 20;
/** Within this many pixels of the bottom counts as "following" the transcript. */
const FOLLOW_SLACK_PX = 48;

const STATUS_TEXT: Record<ConnectionState, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Disconnected",
};

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function setStatus(state: ConnectionState): void {
  const status = document.querySelector<HTMLElement>('[data-testid="status"]');
  if (!status) return;
  status.dataset.state = state;
  byId("status-text").textContent = STATUS_TEXT[state];
}

/** The captioner's state in LiveKit mode; `null` hides it (embedded mode, or not in a call). */
export function setCaptioner(state: CaptionerState | null): void {
  const status = byId("captioner-status");
  status.hidden = state === null;
  if (state === null) return;
  status.dataset.state = state;
  byId("captioner-text").textContent = CAPTIONER_TEXT[state];
  status.title =
    state === "missing"
      ? "No roomscribe agent has joined this room. Is `roomscribe agent` running?"
      : state === "interrupted"
        ? "The captioner stopped; a new one normally takes over within seconds."
        : state === "waiting"
          ? "Every caption stream is in use; yours start as soon as one is free."
          : "";
}

export function showError(message: string | null): void {
  const banner = byId("error");
  banner.textContent = message ?? "";
  banner.hidden = message === null;
}

/** Shows the call view headed `label`, or (`null`) the join form. */
export function showCall(label: string | null): void {
  byId("join").hidden = label !== null;
  byId("call").hidden = label === null;
  const roomName = byId("room-name");
  roomName.hidden = label === null;
  roomName.textContent = label ?? "";
}

export function setToggle(id: string, on: boolean, label: string): void {
  const button = byId<HTMLButtonElement>(id);
  button.setAttribute("aria-pressed", String(on));
  const text = button.querySelector(".label");
  if (text) text.textContent = label;
}

export function renderParticipants(list: readonly ParticipantView[]): void {
  const ul = byId<HTMLUListElement>("participants");
  const items = list.map((p) => {
    const li = el("li", p.speaking ? "participant speaking" : "participant");
    li.dataset.testid = "participant";
    li.dataset.identity = p.identity;
    li.dataset.speaking = String(p.speaking);
    const level = el("span", "level");
    level.setAttribute("aria-hidden", "true");
    level.style.setProperty("--level", String(Math.round(p.audioLevel * 100) / 100));
    const name = el("span", "name", p.isLocal ? `${p.name} (you)` : p.name);
    const state = el("span", "visually-hidden", p.speaking ? ", speaking" : "");
    li.append(level, name, state);
    if (p.language) {
      const language = el("span", "lang", p.language.toUpperCase());
      language.dataset.language = p.language;
      language.title = `Speaks ${languageName(p.language)}`;
      li.append(language);
    }
    if (p.captionsWaiting) {
      const waiting = el("span", "waiting", "waiting for captions");
      waiting.dataset.testid = "captions-waiting";
      waiting.title = "Every caption stream is in use; they start as soon as one is free.";
      li.append(waiting);
    }
    return li;
  });
  ul.replaceChildren(...items);
}

/**
 * A translation under its original (a live caption or a transcript entry): its
 * own line, marked with the language code, in that language for screen readers.
 */
function showTranslation(original: HTMLElement, caption: Caption): void {
  let line = original.querySelector<HTMLElement>(".translation");
  if (!line) {
    line = el("span", "translation");
    line.dataset.testid = "translation";
    const code = caption.language ?? "";
    const mark = el("abbr", "mark", code.toUpperCase());
    mark.title = `Translated into ${languageName(code)}`;
    line.lang = code;
    line.append(mark, el("span", "translated-text"));
    original.append(line);
  }
  line.querySelector(".translated-text")!.textContent = caption.text;
}

/** How long a revised caption is marked (class `revised`) after its text was replaced. */
export const REVISED_MARK_MS = 1000;

/** Marks `node` as just revised for {@link REVISED_MARK_MS}; a newer revision restarts it. */
function markRevised(node: HTMLElement): void {
  node.classList.add("revised");
  const timer = Number(node.dataset.revisedTimer);
  if (timer) clearTimeout(timer);
  node.dataset.revisedTimer = String(
    setTimeout(() => {
      node.classList.remove("revised");
      delete node.dataset.revisedTimer;
    }, REVISED_MARK_MS),
  );
}

/**
 * Live caption panel: the latest `lines` segments, interim ones (and revised
 * finals) replaced in place, by the stable-display rule of `stableText`.
 * Interims are hidden from assistive tech: `Announcer` reads the finals.
 */
export class LiveCaptions {
  private readonly nodes = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private lines: number,
  ) {}

  /** Keeps the latest `lines` segments; older ones leave at once. */
  setLines(lines: number): void {
    this.lines = lines;
    this.trim();
  }

  show(caption: Caption): void {
    if (caption.translationOf !== null) {
      const original = this.nodes.get(caption.translationOf);
      if (original) showTranslation(original, caption);
      return;
    }
    let node = this.nodes.get(caption.key);
    if (!node) {
      if (caption.text === "") return;
      node = el("p", "caption");
      node.dataset.testid = "caption";
      node.append(el("span", "speaker"), el("span", "text"));
      this.root.querySelector(".empty")?.remove();
      this.root.append(node);
      this.nodes.set(caption.key, node);
      this.trim();
    }
    node.dataset.final = String(caption.final);
    node.dataset.speaker = caption.speaker;
    node.dataset.segmentId = caption.segmentId;
    if (caption.final) node.removeAttribute("aria-hidden");
    else node.setAttribute("aria-hidden", "true");
    node.querySelector(".speaker")!.textContent = caption.speaker;
    const text = node.querySelector(".text")!;
    text.textContent = stableText(text.textContent ?? "", caption.text, caption.final);
    if (caption.revision > 0) {
      node.dataset.revision = String(caption.revision);
      markRevised(node);
    }
  }

  clear(): void {
    this.nodes.clear();
    this.root.replaceChildren(el("p", "empty", "Captions appear here when someone speaks."));
  }

  private trim(): void {
    for (const [key, node] of this.nodes) {
      if (this.nodes.size <= this.lines) break;
      node.remove();
      this.nodes.delete(key);
    }
  }
}

/**
 * Screen-reader mode: an `aria-live="polite"` region fed only finals, each
 * announced once ("Ada: Hello."); interims and revisions are not announced.
 */
export class Announcer {
  private readonly announced = new Set<string>();
  /** Off: nothing is announced (the transcript is still there to read). */
  enabled = true;

  constructor(private readonly region: HTMLElement) {}

  announce(caption: Caption): void {
    if (!this.enabled || !caption.final || caption.text === "") return;
    if (this.announced.has(caption.key)) return;
    this.announced.add(caption.key);
    const who =
      caption.translationOf === null
        ? caption.speaker
        : `${caption.speaker} (${languageName(caption.language ?? "")})`;
    this.region.append(el("p", "", `${who}: ${caption.text}`));
    while (this.region.childElementCount > ANNOUNCED_KEPT) this.region.firstElementChild!.remove();
  }

  clear(): void {
    this.announced.clear();
    this.region.replaceChildren();
  }
}

/**
 * Transcript of final captions in start order. Follows new entries unless the
 * reader has scrolled up or turned auto-scroll off; then a "Jump to latest"
 * button appears instead.
 */
export class TranscriptView {
  private readonly entries = new Map<string, HTMLElement>();
  private autoScroll = true;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly jump: HTMLButtonElement,
  ) {
    list.addEventListener("scroll", () => {
      if (this.following()) jump.hidden = true;
    });
    jump.addEventListener("click", () => this.scrollToEnd());
  }

  add(caption: Caption): void {
    if (!caption.final || caption.text === "") return;
    if (caption.translationOf !== null) {
      const original = this.entries.get(caption.translationOf);
      if (original) showTranslation(original, caption);
      return;
    }
    const existing = this.entries.get(caption.key);
    if (existing) {
      // a revision: the better text replaces the old one in place
      existing.querySelector(".text")!.textContent = caption.text;
      existing.dataset.revision = String(caption.revision);
      markRevised(existing);
      return;
    }
    const follow = this.autoScroll && this.following();
    const item = el("li", "entry");
    item.dataset.testid = "transcript-entry";
    item.dataset.speaker = caption.speaker;
    item.dataset.start = caption.start.toFixed(3);
    const time = el("time", "time", formatClock(caption.start));
    time.dateTime = `PT${caption.start.toFixed(1)}S`;
    item.append(time, el("span", "speaker", caption.speaker), el("span", "text", caption.text));
    // Finals from different speakers can arrive out of order: keep start order.
    const after = [...this.list.children].find(
      (c) => Number((c as HTMLElement).dataset.start) > caption.start,
    );
    this.list.insertBefore(item, after ?? null);
    this.entries.set(caption.key, item);
    if (follow) this.scrollToEnd();
    else this.jump.hidden = false;
  }

  clear(): void {
    this.entries.clear();
    this.list.replaceChildren();
    this.jump.hidden = true;
  }

  /** Paused, new entries leave the transcript where it is; resuming jumps to the latest. */
  setAutoScroll(on: boolean): void {
    this.autoScroll = on;
    if (on) this.scrollToEnd();
  }

  private following(): boolean {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight <= FOLLOW_SLACK_PX;
  }

  private scrollToEnd(): void {
    this.list.scrollTop = this.list.scrollHeight;
    this.jump.hidden = true;
  }
}

/** Saves `text` as a file through a temporary link. */
export function download(filename: string, text: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const link = el("a", "");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
