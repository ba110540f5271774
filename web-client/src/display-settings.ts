/**
 * How captions look, kept per browser (`localStorage`): text size, theme,
 * live lines, where the live captions sit, auto-scroll and screen-reader
 * announcements. Parsing is pure (tested in node); `applySettings` sets the
 * `data-*` attributes and CSS variables that `styles.css` reads.
 */

export const THEMES = ["system", "light", "dark", "contrast"] as const;
export type Theme = (typeof THEMES)[number];

export const POSITIONS = ["above", "below"] as const;
/** The live captions above or below the transcript. */
export type CaptionPosition = (typeof POSITIONS)[number];

export interface DisplaySettings {
  /** Caption and transcript text size, percent of the default (100-200). */
  textSize: number;
  theme: Theme;
  /** How many recent segments the live panel shows (1-10). */
  liveLines: number;
  position: CaptionPosition;
  /** Follow new transcript entries; off keeps the transcript where the reader left it. */
  autoScroll: boolean;
  /** Announce each final caption once, with its speaker, through an `aria-live` region. */
  announceFinals: boolean;
}

export const DEFAULT_SETTINGS: Readonly<DisplaySettings> = {
  textSize: 100,
  theme: "system",
  liveLines: 6,
  position: "above",
  autoScroll: true,
  announceFinals: true,
};

export const TEXT_SIZES = [100, 125, 150, 175, 200] as const;
export const LIVE_LINES = { min: 1, max: 10 } as const;

export const STORAGE_KEY = "roomscribe.display";

function oneOf<T extends string>(options: readonly T[], value: unknown, fallback: T): T {
  return options.includes(value as T) ? (value as T) : fallback;
}

function clampInt(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}

/**
 * Settings from what `saveSettings` stored; anything missing, malformed or out
 * of range falls back to (or is clamped into) its default, so an old or
 * hand-edited entry never breaks the page.
 */
export function parseSettings(raw: string | null): DisplaySettings {
  let stored: Record<string, unknown> = {};
  try {
    const value: unknown = raw ? JSON.parse(raw) : {};
    if (value && typeof value === "object" && !Array.isArray(value)) {
      stored = value as Record<string, unknown>;
    }
  } catch {
    // a corrupt entry: the defaults
  }
  const d = DEFAULT_SETTINGS;
  const bool = (value: unknown, fallback: boolean): boolean =>
    typeof value === "boolean" ? value : fallback;
  return {
    textSize: clampInt(stored.textSize, TEXT_SIZES[0], TEXT_SIZES.at(-1)!, d.textSize),
    theme: oneOf(THEMES, stored.theme, d.theme),
    liveLines: clampInt(stored.liveLines, LIVE_LINES.min, LIVE_LINES.max, d.liveLines),
    position: oneOf(POSITIONS, stored.position, d.position),
    autoScroll: bool(stored.autoScroll, d.autoScroll),
    announceFinals: bool(stored.announceFinals, d.announceFinals),
  };
}

export function loadSettings(storage: Pick<Storage, "getItem">): DisplaySettings {
  return parseSettings(storage.getItem(STORAGE_KEY));
}

export function saveSettings(storage: Pick<Storage, "setItem">, settings: DisplaySettings): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(settings));
}

/** Shows `settings` on the page: `styles.css` keys off these attributes. */
export function applySettings(root: HTMLElement, settings: DisplaySettings): void {
  root.dataset.theme = settings.theme;
  root.dataset.captionPosition = settings.position;
  root.style.setProperty("--caption-scale", String(settings.textSize / 100));
}
