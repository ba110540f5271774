// Builds the example into dist/ (index.html, app.js).
import { copyFile, mkdir } from "node:fs/promises";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;

await mkdir(`${here}dist`, { recursive: true });
await build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.tsx" },
  outdir: "dist",
  bundle: true,
  format: "esm",
  jsx: "automatic",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "linked",
  logLevel: "warning",
});
await copyFile(`${here}src/index.html`, `${here}dist/index.html`);
