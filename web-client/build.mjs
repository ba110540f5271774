// Builds the web client into dist/ (index.html, app.js, styles.css).
// `node build.mjs --tests` instead bundles test/*.test.ts into dist-test/ for `node --test`.
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;

if (process.argv.includes("--tests")) {
  const tests = (await readdir(`${here}test`)).filter((f) => f.endsWith(".test.ts"));
  await rm(`${here}dist-test`, { recursive: true, force: true });
  await build({
    absWorkingDir: here,
    entryPoints: tests.map((f) => `test/${f}`),
    outdir: "dist-test",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
} else {
  await mkdir(`${here}dist`, { recursive: true });
  await build({
    absWorkingDir: here,
    entryPoints: { app: "src/main.ts" },
    outdir: "dist",
    bundle: true,
    format: "esm",
    target: ["chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  // livekit-client's end-to-end encryption runs in a worker loaded from its own URL.
  await build({
    absWorkingDir: here,
    entryPoints: { "e2ee-worker": "livekit-client/e2ee-worker" },
    outdir: "dist",
    bundle: true,
    format: "esm",
    target: ["chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  await copyFile(`${here}src/index.html`, `${here}dist/index.html`);
  await copyFile(`${here}src/styles.css`, `${here}dist/styles.css`);
}
