// Drives Debian Chromium through the example and prints what each page showed as JSON.
// Used by tests/browser/test_components_react.py.
//
//   node e2e.mjs '<json config>'
//
// Config: {
//   pages: [{name, url, audio}],   joined in order; url = dist/index.html?url=...&token=...;
//                                  audio = WAV for Chromium's fake microphone
//   speaker: "Ada",                the page that talks: waited on, then muted with its mic toggle
//   minFinalWords: 20,             wait until the speaker's page shows this many final words
//   timeoutMs: 60000,              give up waiting for them after this long
//   screenshot: "artifacts/x.png"  screenshot of the speaker's page while captions arrive
// }
//
// Output (stdout): {ok, error?, elapsedMs, pages: [{name, status, segments, log, consoleErrors, pageErrors}]}
// segments: [{identity, segmentId, trackId, final, text, start, end}]; start/end: the times a
// timed (json_format) payload carries, null otherwise (NaN in JSON)
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.ROOMSCRIBE_CHROMIUM ?? "/usr/bin/chromium";
const config = JSON.parse(process.argv[2] ?? "{}");

const chromiumArgs = (page) => [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  ...(page.audio ? [`--use-file-for-fake-audio-capture=${page.audio}`] : []),
  "--autoplay-policy=no-user-gesture-required",
];

/** In the page: log every change of a segment, and which DOM element showed it. */
function watchSegments() {
  const log = [];
  window.__segmentLog = log;
  const root = document.querySelector('[data-testid="transcriptions"]');
  let nextNode = 0;
  const record = () => {
    for (const li of root.querySelectorAll('[data-testid="segment"]')) {
      const entry = {
        identity: li.closest('[data-testid="speaker"]').dataset.identity,
        segmentId: li.dataset.segmentId,
        final: li.dataset.final === "true",
        text: li.querySelector(".text").textContent,
      };
      const last = log.findLast((e) => e.segmentId === entry.segmentId);
      if (!last || last.final !== entry.final || last.text !== entry.text) {
        // The same element across updates means "updated in place".
        li.__node ??= nextNode++;
        log.push({ ...entry, node: li.__node });
      }
    }
  };
  new MutationObserver(record).observe(root, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
  });
}

/** In the page: the segments on screen now. */
function segments() {
  return [...document.querySelectorAll('[data-testid="segment"]')].map((li) => ({
    identity: li.closest('[data-testid="speaker"]').dataset.identity,
    segmentId: li.dataset.segmentId,
    trackId: li.dataset.trackId,
    final: li.dataset.final === "true",
    text: li.querySelector(".text").textContent,
    // shown only for timed (json_format) payloads
    start: Number(li.querySelector('[data-testid="segment-time"]')?.dataset.start ?? NaN),
    end: Number(li.querySelector('[data-testid="segment-time"]')?.dataset.end ?? NaN),
  }));
}

const finalWords = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="segment"][data-final="true"] .text')]
      .map((n) => n.textContent.split(/\s+/).filter(Boolean).length)
      .reduce((a, b) => a + b, 0),
  );

/** Waits until no interim segment is on screen and nothing has changed for `quietMs`. */
async function settle(page, quietMs = 2500, maxMs = 20_000) {
  const deadline = Date.now() + maxMs;
  let last = "";
  let since = Date.now();
  while (Date.now() < deadline) {
    const state = await page.evaluate(
      () =>
        document.querySelector('[data-testid="transcriptions"]').textContent +
        document.querySelectorAll('[data-testid="segment"][data-final="false"]').length,
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

async function open(context, spec) {
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  await page.goto(spec.url);
  await page.getByTestId("transcriptions").waitFor({ state: "attached" });
  await page.evaluate(watchSegments);
  await page.locator('[data-testid="status"][data-state="connected"]').waitFor({ timeout: 30_000 });
  return { spec, page, consoleErrors, pageErrors };
}

async function report(j) {
  return {
    name: j.spec.name,
    status: await j.page.getByTestId("status").getAttribute("data-state").catch(() => ""),
    segments: await j.page.evaluate(segments).catch(() => []),
    log: await j.page.evaluate(() => window.__segmentLog ?? []).catch(() => []),
    consoleErrors: j.consoleErrors,
    pageErrors: j.pageErrors,
  };
}

async function main() {
  const result = { ok: false, pages: [] };
  const started = Date.now();
  const contexts = [];
  const opened = [];
  try {
    for (const spec of config.pages) {
      const profile = await mkdtemp(join(tmpdir(), "roomscribe-chromium-"));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: chromiumArgs(spec),
        viewport: { width: 1024, height: 720 },
      });
      contexts.push({ context, profile });
      opened.push(await open(context, spec));
    }
    const speaker = opened.find((j) => j.spec.name === config.speaker) ?? opened[0];
    const deadline = Date.now() + (config.timeoutMs ?? 60_000);
    while ((await finalWords(speaker.page)) < (config.minFinalWords ?? 20) && Date.now() < deadline) {
      await speaker.page.waitForTimeout(500);
    }
    if (config.screenshot) {
      await mkdir(dirname(config.screenshot), { recursive: true });
      // A picture with an interim line still being written, if one comes soon.
      await speaker.page
        .locator('[data-testid="segment"][data-final="false"]')
        .first()
        .waitFor({ timeout: 8000 })
        .catch(() => undefined);
      await speaker.page.screenshot({ path: config.screenshot });
    }
    // Muting ends the speech, so the last segment is finalized and the pages go quiet.
    await speaker.page.getByTestId("mic-toggle").click();
    for (const j of opened) await settle(j.page);
    result.ok = true;
  } catch (err) {
    result.error = String(err?.stack ?? err);
  } finally {
    for (const j of opened) result.pages.push(await report(j));
    result.elapsedMs = Date.now() - started;
    for (const { context, profile } of contexts) {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    }
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.ok ? 0 : 1;
}

await main();
