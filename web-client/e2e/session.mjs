// Drives Debian Chromium through a roomscribe call and prints what it saw as JSON.
//
//   node e2e/session.mjs '<json config>'
//
// Config: {
//   url: "http://127.0.0.1:8000/",          roomscribe serve
//   room: "e2e",                             room to join
//   participants: [{name, audio, speaker, language, translate, denyMic, shareTab, passcode,
//                   retryPasscode, roomKey, keyInLink}],
//                                            joined in order; audio = WAV for the fake mic;
//                                            translate: picked in "Also show in" before joining;
//                                            roomKey: typed into the join form's room key field
//                                            (end-to-end encryption), or with keyInLink given in
//                                            the page's URL as #key=...;
//                                            shareTab: mic off, speak through "Caption a tab";
//                                            passcode: typed into the join form's passcode field;
//                                            retryPasscode: after that first attempt is refused,
//                                            join again with this one (firstAttempt in the report);
//                                            the speaker is waited on, muted, downloaded from
//   joinOnly: false,                         just join everyone and report (error paths)
//   hold: false,                             join everyone, print {"ready": true}, then read JSON
//                                            lines from stdin: {translate, text, translated, ignored,
//                                            captionerStates, timeoutMs}; for each, pick `translate`
//                                            (if given) in the first page's "Also show in", then wait
//                                            until it shows a caption containing `text` (with
//                                            `translated`, a translation under one), ignored >=
//                                            `ignored` caption streams and its captioner indicator
//                                            showed `captionerStates` in that order; a line with
//                                            `checkpoint: true` is answered with {checkpoint: true,
//                                            participants} at once; report at stdin's end (other
//                                            processes act on the room meanwhile)
//   minFinalWords: 20,                       wait until the speaker's transcript has this many words
//   timeoutMs: 90000,                        give up waiting for captions after this long
//   outDir: "/tmp/x",                        downloads go here
//   screenshot: "artifacts/captions.png"     screenshot of the speaker's page (also *-narrow.png)
//   axe: false                               run axe-core on the speaker's page three times: the
//                                            join page, the call page (captions flowing, display
//                                            settings open) and the transcript page (after Leave);
//                                            or a list of those states: only those
// }
//
// Output (stdout): {ok, error?, elapsedMs, screenshots, axe? ({join, call, transcript}: each
//   {violations, incomplete: [{id, impact, help, nodes, targets}], passes: rules passed, ms}),
//   keyboard? (with axe: the settings walked by keyboard, see walkSettings),
//   participants: [{name, status, error, errorsShown (every message the banner showed), mic,
//   sharingTab, participants, languages, captions, transcript, captionLog, announced (the
//   screen-reader region's lines), speakersSeen,
//   captioner ("" when hidden), captionerStates (each state it showed, in order), captionerText,
//   joinFormVisible, passcodeVisible, translateVisible ("Also show in"), address (the page's
//   URL), storage: {local, session},
//   consoleErrors, pageErrors, ignoredStreams,
//   firstAttempt?, downloads?, transcriptAfterDownload?}]}
// ignoredStreams: the client's console lines about caption streams it did not show.
// captions and transcript entries carry translation: {text, mark, lang} when a translation
// is shown under them.
import { mkdtemp, mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.ROOMSCRIBE_CHROMIUM ?? "/usr/bin/chromium";
const config = JSON.parse(process.argv[2] ?? "{}");
const FORMATS = ["txt", "srt", "vtt", "json"];
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
/** Page state -> axe-core violations, when `config.axe`. */
const axeResults = {};

/** Whether axe-core runs on `state` (`config.axe`: true for all, or a list). */
const axeOn = (state) => config.axe === true || (Array.isArray(config.axe) && config.axe.includes(state));

/** Runs axe-core on what `page` shows now; records its violations under `state`. */
async function runAxe(page, state) {
  if (!axeOn(state)) return;
  const started = Date.now();
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  axeResults[state] = await page.evaluate(async () => {
    const { violations, incomplete, passes } = await window.axe.run(document);
    const summary = (v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    });
    // incomplete: what axe could not decide (e.g. contrast over a gradient); passes: rules passed
    return { violations: violations.map(summary), incomplete: incomplete.map(summary), passes: passes.length };
  });
  axeResults[state].ms = Date.now() - started;
}

function chromiumArgs(participant) {
  return [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Without the fake UI, the (headless) permission prompt denies the microphone.
    ...(participant.denyMic ? [] : ["--use-fake-ui-for-media-stream"]),
    "--use-fake-device-for-media-stream",
    ...(participant.audio ? [`--use-file-for-fake-audio-capture=${participant.audio}`] : []),
    // Remote audio plays without a user gesture, as in a real call.
    "--autoplay-policy=no-user-gesture-required",
  ];
}

/** In the page: log every caption DOM change, to prove interims were replaced in place. */
function watchCaptions() {
  const log = [];
  window.__captionLog = log;
  const root = document.querySelector('[data-testid="captions"]');
  const record = () => {
    for (const node of root.querySelectorAll('[data-testid="caption"]')) {
      const entry = {
        segment: node.dataset.segmentId,
        speaker: node.dataset.speaker,
        final: node.dataset.final === "true",
        text: node.querySelector(".text")?.textContent ?? "",
        italic: getComputedStyle(node.querySelector(".text")).fontStyle === "italic",
        ariaHidden: node.getAttribute("aria-hidden") === "true",
      };
      const last = log.findLast((e) => e.segment === entry.segment && e.speaker === entry.speaker);
      const same = last && ["final", "text", "italic", "ariaHidden"].every((k) => last[k] === entry[k]);
      if (!same) {
        // The same element object across updates means "replaced in place".
        node.__seen ??= log.length;
        log.push({ ...entry, node: node.__seen, t: performance.now() });
      }
    }
  };
  new MutationObserver(record).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });

  // every state the captioner indicator showed, in order ("" while hidden is left out)
  window.__captionerStates = [];
  const captioner = document.querySelector('[data-testid="captioner-status"]');
  new MutationObserver(() => {
    const state = captioner.hidden ? "" : (captioner.dataset.state ?? "");
    if (state && window.__captionerStates.at(-1) !== state) window.__captionerStates.push(state);
  }).observe(captioner, { attributes: true });

  // every message the error banner showed, in order (a later one replaces it on screen)
  window.__errorsShown = [];
  const banner = document.querySelector('[data-testid="error"]');
  new MutationObserver(() => {
    const shown = banner.hidden ? "" : banner.textContent;
    if (shown && window.__errorsShown.at(-1) !== shown) window.__errorsShown.push(shown);
  }).observe(banner, { attributes: true, childList: true, characterData: true, subtree: true });

  window.__speakersSeen = [];
  const people = document.querySelector('[data-testid="participants"]');
  new MutationObserver(() => {
    for (const li of people.querySelectorAll('[data-speaking="true"] .name')) {
      if (!window.__speakersSeen.includes(li.textContent)) window.__speakersSeen.push(li.textContent);
    }
  }).observe(people, { subtree: true, childList: true, attributes: true });
}

/** In the page: what a person sees. */
function snapshot() {
  const all = (sel, root = document) => [...root.querySelectorAll(sel)];
  const text = (node, sel) => node.querySelector(sel)?.textContent ?? "";
  const error = document.querySelector('[data-testid="error"]');
  // the translation line under an original, if any: its text, mark and language
  const translation = (node) => {
    const line = node.querySelector('[data-testid="translation"]');
    return line
      ? { translation: { text: text(line, ".translated-text"), mark: text(line, ".mark"), lang: line.lang } }
      : {};
  };
  return {
    status: document.querySelector('[data-testid="status"]')?.dataset.state ?? "",
    captioner: (() => {
      const el = document.querySelector('[data-testid="captioner-status"]');
      return !el || el.hidden ? "" : (el.dataset.state ?? "");
    })(),
    captionerStates: window.__captionerStates ?? [],
    captionerText: document.getElementById("captioner-text")?.textContent ?? "",
    error: error && !error.hidden ? error.textContent : "",
    errorsShown: window.__errorsShown ?? [],
    mic: document.querySelector('[data-testid="mic-toggle"]')?.getAttribute("aria-pressed"),
    sharingTab: document.querySelector('[data-testid="share-tab"]')?.getAttribute("aria-pressed"),
    participants: all('[data-testid="participant"]').map((li) => text(li, ".name")),
    languages: Object.fromEntries(
      all('[data-testid="participant"]').map((li) => [
        text(li, ".name"),
        li.querySelector(".lang")?.dataset.language ?? "auto",
      ]),
    ),
    captions: all('[data-testid="caption"]').map((c) => ({
      speaker: c.dataset.speaker,
      final: c.dataset.final === "true",
      text: text(c, ".text"),
      italic: getComputedStyle(c.querySelector(".text")).fontStyle === "italic",
      ...translation(c),
    })),
    transcript: all('[data-testid="transcript-entry"]').map((li) => ({
      time: text(li, ".time"),
      speaker: li.dataset.speaker,
      text: text(li, ".text"),
      ...translation(li),
    })),
    captionLog: window.__captionLog ?? [],
    announced: all('[data-testid="announcer"] p').map((p) => p.textContent),
    speakersSeen: window.__speakersSeen ?? [],
    joinFormVisible: !document.getElementById("join")?.hidden,
    passcodeVisible: !document.getElementById("passcode-input")?.hidden,
    translateVisible: document.getElementById("translate-select")?.checkVisibility() ?? false,
    address: location.href,
    storage: { local: { ...localStorage }, session: { ...sessionStorage } },
  };
}

async function joinCall(browserContext, participant) {
  const page = browserContext.pages()[0] ?? (await browserContext.newPage());
  const consoleErrors = [];
  const pageErrors = [];
  const ignoredStreams = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
    // One debug line per caption stream the client refused (its warning comes once per sender).
    if (msg.type() === "debug" && msg.text().startsWith("roomscribe: ignored")) {
      ignoredStreams.push(msg.text());
    }
  });
  const link = participant.keyInLink ? `#key=${encodeURIComponent(participant.roomKey)}` : "";
  await page.goto(config.url + link);
  await page.getByTestId("join-form").waitFor();
  await page.evaluate(watchCaptions);
  // The room field is hidden in embedded mode once /api/config has answered.
  await page.locator("html[data-mode]").waitFor({ state: "attached" });
  const room = page.getByTestId("room-input");
  if (await room.isVisible()) await room.fill(config.room);
  await page.getByTestId("name-input").fill(participant.name);
  if (participant.language) await page.getByTestId("language-select").selectOption(participant.language);
  if (participant.translate) await page.getByTestId("translate-select").selectOption(participant.translate);
  const passcode = page.getByTestId("passcode-input");
  if (participant.passcode !== undefined) await passcode.fill(participant.passcode);
  if (participant.roomKey !== undefined && !participant.keyInLink) {
    await page.getByTestId("room-key-input").fill(participant.roomKey);
  }
  if (participant.speaker) await runAxe(page, "join");
  await submitJoin(page);
  let firstAttempt;
  if (participant.retryPasscode !== undefined) {
    firstAttempt = {
      ...(await page.evaluate(snapshot)),
      passcodeFocused: await passcode.evaluate((el) => el === document.activeElement),
    };
    await passcode.fill(participant.retryPasscode);
    await submitJoin(page);
  }
  if (participant.denyMic) {
    await page.locator('[data-testid="error"]:not([hidden])').waitFor({ timeout: 15_000 });
  }
  if (participant.shareTab) {
    // Speak through the shared tab only. Chromium's fake capture gives it the fake-mic audio.
    await page.getByTestId("mic-toggle").click();
    await page.getByTestId("share-tab").click();
    await page.locator('[data-testid="share-tab"][aria-pressed="true"]').waitFor({ timeout: 15_000 });
  }
  return { page, consoleErrors, pageErrors, ignoredStreams, firstAttempt };
}

/**
 * Clicks Join and waits until the join has finished: the call controls are
 * enabled (connected, mic settled, passcode remembered), or the error banner
 * shows (a refused join, a denied mic).
 */
async function submitJoin(page) {
  await page.getByTestId("join-button").click();
  await page
    .locator('#call:not([hidden]) [data-testid="mic-toggle"]:not([disabled]), [data-testid="error"]:not([hidden])')
    .first()
    .waitFor({ timeout: 30_000 });
}

const finalWords = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="transcript-entry"] .text')]
      .map((n) => n.textContent.split(/\s+/).filter(Boolean).length)
      .reduce((a, b) => a + b, 0),
  );

/** Waits until no interim is on screen and the transcript stops changing. */
async function settle(page, quietMs = 2500, maxMs = 20_000) {
  const deadline = Date.now() + maxMs;
  let last = "";
  let since = Date.now();
  while (Date.now() < deadline) {
    const state = await page.evaluate(
      () =>
        document.querySelector('[data-testid="transcript"]').textContent +
        document.querySelectorAll('[data-testid="caption"][data-final="false"]').length,
    );
    if (state !== last) {
      last = state;
      since = Date.now();
    } else if (Date.now() - since >= quietMs && state.endsWith("0")) {
      return;
    }
    await page.waitForTimeout(250);
  }
}

async function downloadAll(page, outDir) {
  const files = {};
  for (const format of FORMATS) {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId(`download-${format}`).click(),
    ]);
    const path = join(outDir, `transcript.${format}`);
    await download.saveAs(path);
    files[format] = { filename: download.suggestedFilename(), text: await readFile(path, "utf8") };
  }
  return files;
}

/** What one participant's page shows now, plus the errors it logged. */
async function report(j) {
  return {
    name: j.participant.name,
    ...(await j.page.evaluate(snapshot).catch(() => ({}))),
    consoleErrors: j.consoleErrors,
    pageErrors: j.pageErrors,
    ignoredStreams: j.ignoredStreams,
    ...(j.firstAttempt ? { firstAttempt: j.firstAttempt } : {}),
  };
}

/** Clicks Leave if the page is in a call; waits a moment for the disconnect. */
async function leaveCall(page) {
  const leave = page.getByTestId("leave-button");
  if (!(await leave.isEnabled({ timeout: 500 }).catch(() => false))) return;
  await leave.click({ timeout: 2000 }).catch(() => undefined);
  await page
    .waitForFunction(
      () => document.querySelector('[data-testid="status"]')?.dataset.state === "disconnected",
      null,
      { timeout: 3000 },
    )
    .catch(() => undefined);
}

/**
 * `hold`: says it is ready, then for each JSON line on stdin waits for what it
 * asks to see on the first page (answering a line with `checkpoint: true` with
 * a report line at once); stdin's end ends the session (the usual report follows).
 */
async function hold(joined) {
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const until = JSON.parse(line || "{}");
    if (until.translate !== undefined) {
      await joined[0].page.getByTestId("translate-select").selectOption(until.translate);
    }
    await waitFor(joined[0], until);
    if (until.checkpoint) await checkpoint(joined, until);
  }
}

async function checkpoint(joined, until) {
  const participants = [];
  for (const j of joined) participants.push(await report(j));
  process.stdout.write(JSON.stringify({ checkpoint: true, until, participants }) + "\n");
}

/** Until the page shows what `until` asks (see the config comment), or its time is up. */
async function waitFor(first, until) {
  const deadline = Date.now() + (until.timeoutMs ?? 20_000);
  const shown = () =>
    first.page.evaluate(
      ({ text, translated }) =>
        [...document.querySelectorAll('[data-testid="caption"]')].some(
          (n) =>
            n.querySelector(".text")?.textContent.includes(text) &&
            (!translated || n.querySelector('[data-testid="translation"]')),
        ),
      { text: until.text ?? "", translated: until.translated ?? false },
    );
  // the captioner indicator went through these states, in this order
  const went = () =>
    first.page.evaluate((wanted) => {
      let i = 0;
      for (const state of window.__captionerStates ?? []) if (state === wanted[i]) i += 1;
      return i >= wanted.length;
    }, until.captionerStates ?? []);
  while (Date.now() < deadline) {
    if (first.ignoredStreams.length >= (until.ignored ?? 0) && (await shown()) && (await went())) {
      break;
    }
    await first.page.waitForTimeout(100);
  }
}

/**
 * Opens the settings from the keyboard, Tabs through them (what gets focus, and
 * whether it shows), pick the high-contrast theme, Escape. The transcript page is
 * checked in that theme; `stored` is what the page kept in localStorage.
 */
async function walkSettings(page) {
  await page.locator("#settings > summary").press("Enter");
  const focused = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    focused.push(
      await page.evaluate(() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return { id: el.id, outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px" };
      }),
    );
  }
  await page.locator("#theme").selectOption("contrast");
  await page.keyboard.press("Escape");
  return {
    focused,
    afterEscape: await page.evaluate(() => ({
      open: document.getElementById("settings").open,
      focus: document.activeElement?.tagName.toLowerCase(),
    })),
    stored: await page.evaluate(() => JSON.parse(localStorage.getItem("roomscribe.display"))),
  };
}

/** Waits for the speaker's captions, mutes, settles, downloads and takes screenshots. */
async function converse(joined, result, outDir) {
  const speaker = joined.find((j) => j.participant.speaker) ?? joined[0];
  const deadline = Date.now() + (config.timeoutMs ?? 90_000);
  while ((await finalWords(speaker.page)) < (config.minFinalWords ?? 20) && Date.now() < deadline) {
    await speaker.page.waitForTimeout(500);
  }
  if (config.screenshot) {
    // The README picture: live captions with an interim line still being written.
    await mkdir(dirname(config.screenshot), { recursive: true });
    await speaker.page
      .locator('[data-testid="caption"][data-final="false"]')
      .first()
      .waitFor({ timeout: 8000 })
      .catch(() => undefined);
    await speaker.page.screenshot({ path: config.screenshot });
    result.screenshots.push(config.screenshot);
  }
  if (axeOn("call")) {
    // The call page with captions flowing and the display settings opened from the keyboard.
    const summary = speaker.page.locator("#settings > summary");
    const hasSettings = (await summary.count()) > 0; // not in builds before the settings
    if (hasSettings) await summary.press("Enter");
    await runAxe(speaker.page, "call");
    if (hasSettings) await summary.press("Enter");
  }
  // Ending the speech finalizes the last sentence, so the page goes quiet.
  await speaker.page.getByTestId(speaker.participant.shareTab ? "share-tab" : "mic-toggle").click();
  for (const j of joined) await settle(j.page);

  for (const j of joined) {
    const entry = await report(j);
    if (j === speaker) {
      entry.downloads = await downloadAll(j.page, outDir);
      entry.transcriptAfterDownload = (await j.page.evaluate(snapshot)).transcript;
    }
    result.participants.push(entry);
  }
  if (config.screenshot) {
    const narrow = config.screenshot.replace(/\.png$/, "-narrow.png");
    await speaker.page.setViewportSize({ width: 390, height: 844 });
    await speaker.page.screenshot({ path: narrow, fullPage: true });
    result.screenshots.push(narrow);
    await speaker.page.setViewportSize({ width: 1280, height: 720 });
  }
  if (axeOn("transcript")) {
    if ((await speaker.page.locator("#settings").count()) > 0) {
      result.keyboard = await walkSettings(speaker.page);
    }
    // After Leave: the join form again, above the transcript kept for downloading.
    await leaveCall(speaker.page);
    await runAxe(speaker.page, "transcript");
  }
}

async function main() {
  const outDir = config.outDir ?? (await mkdtemp(join(tmpdir(), "roomscribe-e2e-")));
  await mkdir(outDir, { recursive: true });
  const contexts = [];
  const joined = [];
  const result = { ok: false, participants: [], screenshots: [] };
  const started = Date.now();
  try {
    for (const participant of config.participants) {
      const profile = await mkdtemp(join(tmpdir(), "roomscribe-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: chromiumArgs(participant),
        acceptDownloads: true,
        viewport: { width: 1280, height: 720 },
      });
      contexts.push({ context, profile });
      joined.push({ participant, ...(await joinCall(context, participant)) });
    }
    if (config.joinOnly || config.hold) {
      if (config.hold) await hold(joined);
      for (const j of joined) result.participants.push(await report(j));
    } else {
      await converse(joined, result, outDir);
    }
    result.ok = true;
  } catch (err) {
    result.error = String(err?.stack ?? err);
    result.participants = [];
    for (const j of joined) result.participants.push(await report(j));
  } finally {
    result.elapsedMs = Date.now() - started;
    if (config.axe) result.axe = axeResults;
    // Leave like a person does: a closed browser stays listed in the room until
    // the server times it out, and keeps its captioner busy meanwhile.
    await Promise.all(joined.map((j) => leaveCall(j.page)));
    for (const { context, profile } of contexts) {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    }
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.ok ? 0 : 1;
}

await main();
