// Drives Debian Chromium through the room-vocabulary editor and prints what it saw as JSON.
//
//   node e2e/vocabulary.mjs '<json config>'
//
// Config: {url, room, name, audio (WAV for the fake mic), save: "comma, separated", bad: "terms"}
// Joins, reads the vocabulary shown on joining, saves `save`, waits until the page shows the
// stored terms, then tries `bad` and reads the error banner.
// Output (stdout): {ok, error?, onJoin, saved, afterBad, badError, pageErrors}
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.ROOMSCRIBE_CHROMIUM ?? "/usr/bin/chromium";
const config = JSON.parse(process.argv[2] ?? "{}");

const shownTerms = (page) =>
  page.getByTestId("vocabulary-current").evaluate((el) => JSON.parse(el.dataset.terms ?? "null"));

async function main() {
  const result = { ok: false, pageErrors: [] };
  const profile = await mkdtemp(join(tmpdir(), "roomscribe-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      ...(config.audio ? [`--use-file-for-fake-audio-capture=${config.audio}`] : []),
    ],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (err) => result.pageErrors.push(String(err)));
    await page.goto(config.url);
    await page.locator("html[data-mode]").waitFor({ state: "attached" });
    await page.getByTestId("room-input").fill(config.room);
    await page.getByTestId("name-input").fill(config.name);
    await page.getByTestId("join-button").click();
    await page.locator('#call:not([hidden]) [data-testid="vocabulary-save"]:not([disabled])').waitFor({
      timeout: 30_000,
    });
    result.onJoin = await shownTerms(page);

    await page.getByTestId("vocabulary-input").fill(config.save);
    await page.getByTestId("vocabulary-save").click();
    await page.waitForFunction(
      (before) => document.getElementById("vocabulary-current").dataset.terms !== before,
      JSON.stringify(result.onJoin),
      { timeout: 15_000 },
    );
    result.saved = await shownTerms(page);

    await page.getByTestId("vocabulary-input").fill(config.bad);
    await page.getByTestId("vocabulary-save").click();
    await page.locator('[data-testid="error"]:not([hidden])').waitFor({ timeout: 15_000 });
    result.badError = await page.getByTestId("error").textContent();
    result.afterBad = await shownTerms(page);
    result.ok = true;
  } catch (err) {
    result.error = String(err?.stack ?? err);
  } finally {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.ok ? 0 : 1;
}

await main();
