// Opens fresh rooms one after another in Debian Chromium and reports, per room,
// what the first caption said and when. Used by scripts/bench_first_word.py.
//
//   node e2e/first-word.mjs '<json config>'
//
// Config: {
//   url: "http://127.0.0.1:8000/",   roomscribe serve (LiveKit mode)
//   rooms: ["fw-1", ...],            each joined by a new page, in order; none may exist yet
//   audio: "/tmp/speech.wav",        the fake microphone: speech from its first sample on
//   timeoutMs: 20000                 per room: give up waiting for the first final after this
// }
//
// Chromium's fake microphone starts the file when the page opens the microphone, so
// the first word is said the moment the page starts capturing.
//
// Output (stdout): {ok, error?, rooms: [{room, firstCaption, firstFinal, captionMs, finalMs,
//   liveMs, captionerStates}]}: times in ms after Join was clicked (null: never);
//   liveMs: when the mic toggle first showed "on", enabled; captionerStates: the indicator's states.
import { chromium } from "playwright-core";

const CHROMIUM = process.env.ROOMSCRIBE_CHROMIUM ?? "/usr/bin/chromium";
const config = JSON.parse(process.argv[2] ?? "{}");

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  `--use-file-for-fake-audio-capture=${config.audio}`,
  "--autoplay-policy=no-user-gesture-required",
];

/** In the page, before Join: note when the first caption, final and live mic show. */
function watch() {
  const marks = { captionerStates: [] };
  window.__firstWord = marks;
  const since = () => performance.now() - (marks.joinAt ?? 0);
  const check = () => {
    const caption = [...document.querySelectorAll('[data-testid="caption"] .text')].find(
      (n) => n.textContent.trim() !== "",
    );
    if (caption && marks.captionMs === undefined) {
      marks.captionMs = since();
      marks.firstCaption = caption.textContent;
    }
    const final = document.querySelector('[data-testid="transcript-entry"] .text');
    if (final && marks.finalMs === undefined) {
      marks.finalMs = since();
      marks.firstFinal = final.textContent;
    }
    const mic = document.querySelector('[data-testid="mic-toggle"]');
    // the page's initial markup says "on": live is on and enabled (the join has finished)
    const live = mic && !mic.disabled && mic.getAttribute("aria-pressed") === "true";
    if (live && marks.joinAt !== undefined && marks.liveMs === undefined) {
      marks.liveMs = since();
    }
    const status = document.querySelector('[data-testid="captioner-status"]');
    const state = status && !status.hidden ? (status.dataset.state ?? "") : "";
    if (state && marks.captionerStates.at(-1) !== state) marks.captionerStates.push(state);
  };
  new MutationObserver(check).observe(document.body, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
  });
}

async function oneRoom(browser, room) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(config.url);
    await page.getByTestId("join-form").waitFor();
    await page.locator("html[data-mode]").waitFor({ state: "attached" });
    await page.getByTestId("room-input").fill(room);
    await page.getByTestId("name-input").fill("Ada");
    await page.evaluate(watch);
    await page.evaluate(() => (window.__firstWord.joinAt = performance.now()));
    await page.getByTestId("join-button").click();
    await page
      .locator('[data-testid="transcript-entry"]')
      .first()
      .waitFor({ timeout: config.timeoutMs ?? 20_000 })
      .catch(() => undefined);
    const marks = await page.evaluate(() => window.__firstWord);
    const leave = page.getByTestId("leave-button");
    if (await leave.isEnabled().catch(() => false)) await leave.click().catch(() => undefined);
    await page
      .waitForFunction(
        () => document.querySelector('[data-testid="status"]')?.dataset.state === "disconnected",
        null,
        { timeout: 3000 },
      )
      .catch(() => undefined);
    const ms = (v) => (v === undefined ? null : Math.round(v));
    return {
      room,
      firstCaption: marks.firstCaption ?? null,
      firstFinal: marks.firstFinal ?? null,
      captionMs: ms(marks.captionMs),
      finalMs: ms(marks.finalMs),
      liveMs: ms(marks.liveMs),
      captionerStates: marks.captionerStates,
    };
  } finally {
    await context.close().catch(() => undefined);
  }
}

async function main() {
  const result = { ok: false, rooms: [] };
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    for (const room of config.rooms) {
      const run = await oneRoom(browser, room);
      result.rooms.push(run);
      process.stderr.write(JSON.stringify(run) + "\n");
    }
    result.ok = true;
  } catch (err) {
    result.error = String(err?.stack ?? err);
  } finally {
    await browser.close().catch(() => undefined);
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.ok ? 0 : 1;
}

await main();
